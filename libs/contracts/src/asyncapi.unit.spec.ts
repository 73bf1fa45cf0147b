import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { buildAsyncApiDocument } from './asyncapi.js';
import { catalog } from './catalog.js';

describe('the AsyncAPI document', () => {
  const document = buildAsyncApiDocument();

  it('is the one committed in docs/asyncapi.json (run `npm run asyncapi` after changing a contract)', () => {
    const committed = JSON.parse(readFileSync(new URL('../../../docs/asyncapi.json', import.meta.url), 'utf8'));
    expect(committed).toEqual(JSON.parse(JSON.stringify(document)));
  });

  it('lists one send operation per message and one receive operation per consumer', () => {
    const operations = Object.values(document.operations) as Array<{ action: string }>;
    expect(operations.filter((o) => o.action === 'send')).toHaveLength(catalog.length);
    expect(operations.filter((o) => o.action === 'receive')).toHaveLength(catalog.reduce((n, e) => n + e.consumers.length, 0));
  });

  it('describes each payload inside the envelope', () => {
    const chargeOrder = (
      document.components.messages as Record<
        string,
        { payload: { required: string[]; properties: Record<string, { required?: string[] }> } }
      >
    ).ChargeOrder_v1;
    expect(chargeOrder.payload.required).toEqual(expect.arrayContaining(['id', 'type', 'version', 'correlationId', 'payload']));
    expect(chargeOrder.payload.properties.payload.required).toEqual(['orderId', 'concertId', 'quantity', 'customerEmail']);
  });
});
