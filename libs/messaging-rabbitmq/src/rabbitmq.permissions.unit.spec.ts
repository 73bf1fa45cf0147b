import { describe, expect, it } from '@jest/globals';
import { catalog, defineMessage, type CatalogEntry } from '@boxoffice/contracts';
import { z } from 'zod';
import { rabbitMqPermissions } from './rabbitmq.permissions.js';

/** Whether a permission's expression lets an account at this name, as RabbitMQ matches it (the whole name). */
const allows = (pattern: string, name: string) => new RegExp(pattern).test(name);

describe('RabbitMQ permissions, read from the catalog', () => {
  const permissions = rabbitMqPermissions();

  it('lets Checkout only declare and write the commands exchange, in any namespace', () => {
    const checkout = permissions.get('checkout')!;
    for (const name of ['boxoffice.commands', 'e2e_1.boxoffice.commands', 'a.b-c.boxoffice.commands'])
      expect([allows(checkout.configure, name), allows(checkout.write, name)]).toEqual([true, true]);
    for (const name of ['billing.charge-order', 'billing.charge-order.dlq', 'amq.default', 'boxoffice.commandsx', 'x boxoffice.commands'])
      expect([name, allows(checkout.configure, name), allows(checkout.write, name), allows(checkout.read, name)]).toEqual([
        name,
        false,
        false,
        false,
      ]);
  });

  it('lets Billing declare and read its queue, delay queues and dead letter queue, and write its queue, the exchange and the default exchange', () => {
    const billing = permissions.get('billing')!;
    for (const name of ['billing.charge-order', 'ns.billing.charge-order.retry.3', 'billing.charge-order.dlq'])
      expect([name, allows(billing.configure, name), allows(billing.read, name)]).toEqual([name, true, true]);
    for (const name of ['billing.charge-order', 'ns.boxoffice.commands', 'amq.default'])
      expect([name, allows(billing.write, name)]).toEqual([name, true]);
    for (const name of ['billing.charge-orderz', 'billing.charge-order.retry.x', 'ns.amq.default', 'boxoffice.orders'])
      expect([name, allows(billing.configure, name), allows(billing.write, name), allows(billing.read, name)]).toEqual([
        name,
        false,
        false,
        false,
      ]);
  });

  it('gives the services the catalog sends no command nothing at all', () => {
    expect([...permissions.keys()]).toEqual(['checkout', 'billing']);
  });

  it('changes with the catalog: a new command line grants its sender and its reader', () => {
    const SendReceipt = defineMessage({
      type: 'SendReceipt',
      version: 1,
      kind: 'command',
      schema: z.object({ orderId: z.string() }),
      description: 'a receipt to mail',
    });
    const line: CatalogEntry = {
      message: SendReceipt,
      channel: 'email.send-receipt',
      keyedBy: 'orderId',
      publisher: 'billing',
      consumers: ['email'],
    };
    const changed = rabbitMqPermissions([...catalog, line]);
    expect(allows(changed.get('email')!.read, 'email.send-receipt')).toBe(true);
    expect(allows(changed.get('email')!.read, 'billing.charge-order')).toBe(false);
    expect(allows(changed.get('billing')!.read, 'email.send-receipt')).toBe(false);
    expect(allows(changed.get('billing')!.write, 'boxoffice.commands')).toBe(true);
  });
});
