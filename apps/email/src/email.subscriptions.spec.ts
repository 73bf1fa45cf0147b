import { describe, expect, it } from '@jest/globals';
import { catalog } from '@boxoffice/contracts';
import { emailSubscriptions } from './email.subscriptions.js';

const handler = { handle: async () => ({ kind: 'done' as const }) } as never;

describe("email's subscriptions", () => {
  it('take exactly the events the catalog names email a consumer of, each from its catalog topic', () => {
    const subscribed = emailSubscriptions(handler, handler, handler).flatMap((s) =>
      s.messages.map((m) => `${m.type} from ${s.source.transport === 'kafka' ? s.source.topic : s.source.queue}`),
    );
    const expected = catalog
      .filter((entry) => entry.consumers.includes('email'))
      .map((entry) => `${entry.message.type} from ${entry.route.transport === 'kafka' ? entry.route.topic : entry.route.queue}`);
    expect(subscribed.sort()).toEqual(expected.sort());
  });
});
