import { describe, expect, it } from '@jest/globals';
import type { Envelope } from '@boxoffice/contracts';
import { envelopeHeaders, missingIdHeader } from './envelope.headers.js';

const envelope: Envelope = {
  id: '0190a5f0-0000-7000-8000-000000000001',
  type: 'OrderConfirmed',
  version: 2,
  occurredAt: '2026-01-01T00:00:00.000Z',
  source: 'checkout',
  correlationId: 'corr-1',
  causationId: null,
  traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
  payload: {},
};

describe('the envelope headers', () => {
  it('carry the envelope’s id, type, version, correlation id and trace context, under the names every tool reads', () => {
    expect(envelopeHeaders(envelope)).toEqual({
      'message-id': envelope.id,
      type: 'OrderConfirmed',
      version: '2',
      'correlation-id': 'corr-1',
      traceparent: envelope.traceparent,
    });
  });

  it('leave out the trace context of an envelope that has none', () => {
    expect(envelopeHeaders({ ...envelope, traceparent: undefined })).not.toHaveProperty('traceparent');
  });

  it('carry what the outbox adds on top, even where it names one of them again', () => {
    expect(envelopeHeaders(envelope, { 'x-tenant': 'a', traceparent: 'from-the-outbox' })).toMatchObject({
      'message-id': envelope.id,
      'x-tenant': 'a',
      traceparent: 'from-the-outbox',
    });
  });
});

describe('a dead letter’s id header', () => {
  it('is added from the body’s envelope where the headers did not carry it', () => {
    expect(missingIdHeader({ type: 'OrderConfirmed' }, envelope.id)).toEqual({ 'message-id': envelope.id });
  });

  it('is not added again, nor made up for a message whose id could not be read', () => {
    expect(missingIdHeader(envelopeHeaders(envelope), envelope.id)).toEqual({});
    expect(missingIdHeader({}, null)).toEqual({});
  });
});
