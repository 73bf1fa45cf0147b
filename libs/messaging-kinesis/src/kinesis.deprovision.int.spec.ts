import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { uniqueName, waitFor } from '@boxoffice/testing';
import { deadLetterStreamOf, KinesisStreams } from './kinesis.streams.js';
import { KinesisTransport } from './kinesis.transport.js';
import { endpoint } from './testing/kinesis.fixtures.js';

describe('deprovisioning a channel on Kinesis', () => {
  const transport = new KinesisTransport({ endpoint, shards: 1 });
  const streams = new KinesisStreams(transport.client);
  const channel = uniqueName('deprovision_stream');
  // Its name starts with the channel's, so its dead letters look like the channel's to a prefix.
  const longer = `${channel}.kept`;
  const ours = [channel, deadLetterStreamOf(channel, 'email'), deadLetterStreamOf(channel, 'analytics')];
  const theirs = [longer, deadLetterStreamOf(longer, 'email')];

  beforeAll(async () => {
    await streams.ensure([...ours, ...theirs].map((stream) => ({ stream, shards: 1 })));
  });

  afterAll(async () => {
    await transport.deprovision([longer]);
    await transport.close();
  });

  it('deletes its stream and its groups’ dead-letter streams, and leaves a longer channel’s alone', async () => {
    await transport.deprovision([channel]);
    const left = await waitFor(
      async () => (await streams.list()).filter((name) => name.startsWith(channel)),
      (names) => ours.every((stream) => !names.includes(stream)),
      { description: 'the channel’s streams gone' },
    );
    expect(left.sort()).toEqual([...theirs].sort());
  });
});
