import { describe, expect, it } from '@jest/globals';
import { catalog, ChargeOrder, OrderConfirmed, OrderRejected, UserRegistered } from '@boxoffice/contracts';
import { Routing } from './destination.js';

const charge = { orderId: 'order-1', concertId: 'concert-1', quantity: 2, customerEmail: 'ada@example.com' };

describe('routing a service its handlers', () => {
  const routing = new Routing();

  it('accepts handlers for exactly what the catalog routes to the service', () => {
    expect(() => routing.assertHandles('email', [UserRegistered, OrderConfirmed, OrderRejected])).not.toThrow();
  });

  it('refuses a service with no handler for a message routed to it, naming the message', () => {
    expect(() => routing.assertHandles('email', [UserRegistered, OrderConfirmed])).toThrow(
      'the catalog routes OrderRejected v1 to email, which has no handler for it',
    );
  });

  it('refuses a handler for a message the catalog does not route to the service, naming it', () => {
    expect(() => routing.assertHandles('email', [UserRegistered, OrderConfirmed, OrderRejected, ChargeOrder])).toThrow(
      'email has a handler for ChargeOrder v1, which the catalog does not route to it',
    );
  });
});

describe('naming channels on the brokers', () => {
  describe('without a namespace', () => {
    const routing = new Routing();

    it('uses the catalog names as they are', () => {
      expect(routing.destinationOf(ChargeOrder, charge)).toEqual({
        transport: 'rabbitmq',
        channel: 'billing.charge-order',
        key: 'order-1',
      });
      expect(routing.commandExchange).toBe('boxoffice.commands');
      expect(routing.consumerGroupOf('billing')).toBe('billing');
    });
  });

  describe('with a namespace', () => {
    const routing = new Routing({ namespace: 'e2e_1' });

    it('prefixes the channel a message goes to, and keeps its transport and key', () => {
      expect(routing.destinationOf(ChargeOrder, charge)).toEqual({
        transport: 'rabbitmq',
        channel: 'e2e_1.billing.charge-order',
        key: 'order-1',
      });
    });

    it('prefixes the channels a service reads', () => {
      expect(routing.sourcesOf('email')).toEqual([
        {
          transport: 'kafka',
          channels: ['e2e_1.boxoffice.orders', 'e2e_1.boxoffice.users'],
          messages: [OrderConfirmed, OrderRejected, UserRegistered],
        },
      ]);
    });

    it('prefixes the channels a transport carries and those a service provisions on it', () => {
      expect(routing.channelsOn('rabbitmq')).toEqual([{ channel: 'e2e_1.billing.charge-order', kind: 'command', consumers: ['billing'] }]);
      expect(routing.channelsUsedBy('checkout', 'rabbitmq')).toEqual({ reads: [], sendsOnly: ['e2e_1.billing.charge-order'] });
      expect(routing.channelsUsedBy('billing', 'rabbitmq')).toEqual({ reads: ['e2e_1.billing.charge-order'], sendsOnly: [] });
      expect(routing.channelsUsedBy('email', 'kafka')).toEqual({
        reads: ['e2e_1.boxoffice.orders', 'e2e_1.boxoffice.users'],
        sendsOnly: [],
      });
      expect(routing.channelsUsedBy('billing', 'kafka').sendsOnly).toEqual(['e2e_1.boxoffice.payments']);
    });

    it('prefixes the command exchange and every consumer group', () => {
      expect(routing.commandExchange).toBe('e2e_1.boxoffice.commands');
      expect(routing.consumerGroupOf('billing')).toBe('e2e_1.billing');
    });

    it('scopes the dead letters to the prefixed channels and the groups that read them', () => {
      expect(routing.deadLetterScopeOn('rabbitmq')).toEqual([{ channel: 'e2e_1.billing.charge-order', consumers: ['e2e_1.billing'] }]);
      expect(routing.deadLetterScopeOn('kafka')).toContainEqual({
        channel: 'e2e_1.boxoffice.users',
        consumers: ['e2e_1.email', 'e2e_1.analytics', 'e2e_1.audit'],
      });
    });

    it('leaves the catalog with its logical names', () => {
      expect(routing.entries).toBe(catalog);
      expect(routing.entries.map((e) => e.channel)).not.toContainEqual(expect.stringMatching(/^e2e_1\./));
    });
  });

  it('puts every channel on the transports chosen, under the namespace', () => {
    const routing = new Routing({ transports: { command: 'nats', event: 'nats' }, namespace: 'ns' });
    expect(routing.destinationOf(ChargeOrder, charge)).toMatchObject({ transport: 'nats', channel: 'ns.billing.charge-order' });
    expect(routing.channelsOn('nats').map(({ channel, kind }) => `${kind} ${channel}`)).toEqual([
      'event ns.boxoffice.concerts',
      'command ns.billing.charge-order',
      'event ns.boxoffice.payments',
      'event ns.boxoffice.orders',
      'event ns.boxoffice.users',
    ]);
    expect(routing.channelsOn('rabbitmq')).toEqual([]);
  });
});
