import { describe, expect, it } from '@jest/globals';
import { MessageRefused, PublishIncomplete } from '../transport.port.js';
import { allConfirmed, sendEach, throwUnlessAllTaken, unlessAborted } from './publish.confirmations.js';

/** A confirmation the spec gives when it chooses. */
function confirmation(): { readonly promise: Promise<void>; readonly confirm: () => void } {
  let confirm!: () => void;
  const promise = new Promise<void>((resolve) => (confirm = resolve));
  return { promise, confirm };
}

/** Whether a promise has settled, after every callback already queued has run. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  void promise.then(
    () => (done = true),
    () => (done = true),
  );
  await new Promise((resolve) => setImmediate(resolve));
  return done;
}

describe("a publish's confirmations", () => {
  it('resolve once every one is in, and not before', async () => {
    const [first, second] = [confirmation(), confirmation()];
    const all = allConfirmed([first.promise, second.promise, Promise.resolve()], 'test publish');
    second.confirm();
    expect(await settled(all)).toBe(false);
    first.confirm();
    await expect(all).resolves.toBeUndefined();
  });

  it('reject once every one is in, naming each message not taken by its index, and whether the broker refused it', async () => {
    const refused = new MessageRefused('no stream answers that subject');
    const slow = confirmation();
    const all = allConfirmed(
      [Promise.reject(refused), Promise.resolve(), Promise.reject(new Error('timeout')), slow.promise],
      'NATS publish',
    );
    expect(await settled(all)).toBe(false); // the failures are in, one confirmation is not
    slow.confirm();
    const error = await all.then(
      () => null,
      (rejected: unknown) => rejected,
    );
    expect(error).toBeInstanceOf(PublishIncomplete);
    const incomplete = error as PublishIncomplete;
    expect(incomplete.message).toBe('NATS publish: 2 of 4 not taken (no stream answers that subject)');
    expect(incomplete.cause).toBe(refused);
    expect([...incomplete.failed]).toEqual([
      [0, { reason: 'no stream answers that subject', refused: true }],
      [2, { reason: 'timeout', refused: false }],
    ]);
  });

  it("describe and judge a failure in the broker's words where it has them", async () => {
    const rheaError = { condition: 'amqp:resource-limit-exceeded' };
    const error = (await allConfirmed([Promise.resolve(), Promise.reject(rheaError)], 'activemq send', {
      describe: (e) => (e as { condition: string }).condition,
      refused: (e) => (e as { condition: string }).condition.startsWith('amqp:'),
    }).catch((e: unknown) => e)) as PublishIncomplete;
    expect(error.message).toBe('activemq send: 1 of 2 not taken (amqp:resource-limit-exceeded)');
    expect([...error.failed]).toEqual([[1, { reason: 'amqp:resource-limit-exceeded', refused: true }]]);
  });
});

describe('sending each message', () => {
  it('refuses one that cannot even be written out on its own, and still sends the rest', async () => {
    const sent: number[] = [];
    const confirmations = sendEach([1, 2, 3], (n) => {
      if (n === 2) throw new TypeError("Field 'timestamp' is the wrong type");
      sent.push(n);
      return Promise.resolve();
    });
    const error = (await allConfirmed(confirmations, 'test publish').catch((e: unknown) => e)) as PublishIncomplete;
    expect(sent).toEqual([1, 3]);
    expect([...error.failed]).toEqual([[1, { reason: "cannot be sent: Field 'timestamp' is the wrong type", refused: true }]]);
  });
});

describe("a publish's own account of each message", () => {
  const away = new Error('connect ECONNREFUSED');

  it('says nothing when every message was taken', () => {
    expect(() => throwUnlessAllTaken('SQS publish', new Map(), 3, null)).not.toThrow();
  });

  it('names the messages not taken when some were', () => {
    const failed = new Map([[1, { reason: 'NonExistentQueue', refused: true }]]);
    const error = (() => {
      try {
        throwUnlessAllTaken('SQS publish', failed, 3, away);
      } catch (thrown) {
        return thrown;
      }
    })();
    expect(error).toBeInstanceOf(PublishIncomplete);
    expect((error as PublishIncomplete).message).toBe('SQS publish: 1 of 3 not taken (NonExistentQueue)');
    expect((error as PublishIncomplete).cause).toBe(away);
  });

  it('fails as a whole, with its cause, when nothing was taken and nothing refused', () => {
    const failed = new Map([0, 1].map((index) => [index, { reason: 'connect ECONNREFUSED', refused: false }]));
    expect(() => throwUnlessAllTaken('SQS publish', failed, 2, away)).toThrow(away);
  });

  it('names every message when nothing was taken but the broker refused some', () => {
    const failed = new Map([
      [0, { reason: 'no such stream', refused: true }],
      [1, { reason: 'no such stream', refused: true }],
    ]);
    expect(() => throwUnlessAllTaken('Kinesis publish', failed, 2, away)).toThrow(PublishIncomplete);
  });
});

describe('a publish the caller may stop waiting for', () => {
  it('is what the publish is while the signal is not aborted', async () => {
    await expect(unlessAborted(Promise.resolve('confirmed'), new AbortController().signal)).resolves.toBe('confirmed');
    await expect(unlessAborted(Promise.reject(new Error('nacked')), new AbortController().signal)).rejects.toThrow('nacked');
  });

  it("rejects with the signal's reason as soon as it is aborted, whatever the publish still does", async () => {
    const deadline = new AbortController();
    let fail!: (error: Error) => void;
    const publish = new Promise<void>((_, reject) => (fail = reject));
    const waited = unlessAborted(publish, deadline.signal);
    expect(await settled(waited)).toBe(false);
    deadline.abort(new Error('no confirmation within 10 ms'));
    await expect(waited).rejects.toThrow('no confirmation within 10 ms');
    fail(new Error('channel closed')); // late, and heard by nobody: no unhandled rejection
    await new Promise((resolve) => setImmediate(resolve));
  });
});
