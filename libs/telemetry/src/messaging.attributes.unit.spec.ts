import { describe, expect, it } from '@jest/globals';
import {
  catalog,
  ChargeOrder,
  ConcertScheduled,
  OrderConfirmed,
  PaymentCaptured,
  PaymentDeclined,
  UserRegistered,
} from '@boxoffice/contracts';
import { continuesTrace, messagingAttributes, spanNameOf } from './messaging.attributes.js';

describe('messaging span attributes', () => {
  it('name the system, destination and operation, and leave out what does not apply', () => {
    expect(messagingAttributes({ operation: 'create', transport: 'rabbitmq', channel: 'billing.charge-order' })).toEqual({
      'messaging.system': 'rabbitmq',
      'messaging.destination.name': 'billing.charge-order',
      'messaging.operation.type': 'create',
      'messaging.operation.name': 'create',
    });
  });

  it('carry the message, the group, the partition as a string and the batch size', () => {
    expect(
      messagingAttributes({
        operation: 'process',
        transport: 'kafka',
        channel: 'boxoffice.payments',
        messageId: 'm-1',
        messageType: 'PaymentCaptured',
        correlationId: 'c-1',
        consumerGroup: 'checkout',
        partition: 2,
        batchCount: 7,
      }),
    ).toEqual({
      'messaging.system': 'kafka',
      'messaging.destination.name': 'boxoffice.payments',
      'messaging.operation.type': 'process',
      'messaging.operation.name': 'process',
      'messaging.message.id': 'm-1',
      'messaging.message.conversation_id': 'c-1',
      'boxoffice.message.type': 'PaymentCaptured',
      'messaging.consumer.group.name': 'checkout',
      'messaging.destination.partition.id': '2',
      'messaging.batch.message_count': 7,
    });
  });

  it("use the conventions' system names for the AWS transports", () => {
    expect(messagingAttributes({ operation: 'send', transport: 'sqs', channel: 'q' })['messaging.system']).toBe('aws_sqs');
  });

  it("give spans the conventions' names", () => {
    expect(spanNameOf('send', 'boxoffice.payments')).toBe('send boxoffice.payments');
  });
});

describe('whether a consumer continues the trace', () => {
  it('continues for a command', () => {
    expect(continuesTrace(ChargeOrder, 'billing', catalog)).toBe(true);
  });

  it('continues for the answer to a command the consumer sent (the payment result back to Checkout)', () => {
    expect(continuesTrace(PaymentCaptured, 'checkout', catalog)).toBe(true);
    expect(continuesTrace(PaymentDeclined, 'checkout', catalog)).toBe(true);
  });

  it('starts a linked trace for an event fanned out to subscribers', () => {
    expect(continuesTrace(PaymentCaptured, 'audit', catalog)).toBe(false);
    expect(continuesTrace(PaymentDeclined, 'analytics', catalog)).toBe(false);
    expect(continuesTrace(OrderConfirmed, 'email', catalog)).toBe(false);
    expect(continuesTrace(UserRegistered, 'analytics', catalog)).toBe(false);
    expect(continuesTrace(ConcertScheduled, 'billing', catalog)).toBe(false);
  });
});
