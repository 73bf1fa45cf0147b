import { describe, expect, it } from '@jest/globals';
import { catalog } from '@boxoffice/contracts';
import { auditSubscriptions } from './audit.subscriptions.js';

const handler = { handle: async () => ({ kind: 'done' as const }) } as never;

describe("audit's subscriptions", () => {
  it('take exactly the events the catalog names audit a consumer of, each from its catalog topic', () => {
    const subscribed = auditSubscriptions({ forTopic: () => handler } as never).flatMap((s) =>
      s.messages.map((m) => `${m.type} from ${s.source.transport === 'kafka' ? s.source.topic : s.source.queue}`),
    );
    const expected = catalog
      .filter((entry) => entry.consumers.includes('audit'))
      .map((entry) => `${entry.message.type} from ${entry.route.transport === 'kafka' ? entry.route.topic : entry.route.queue}`);
    expect(subscribed.sort()).toEqual(expected.sort());
  });
});
