import { describe, expect, it } from '@jest/globals';
import { ChargeOrder, OrderConfirmed, OrderRejected, UserRegistered } from '@boxoffice/contracts';
import { Routing } from './destination.js';

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
