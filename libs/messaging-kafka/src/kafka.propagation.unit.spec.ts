import { describe, expect, it } from '@jest/globals';
import { isPassingKafkaError, whileKafkaSettles } from './kafka.propagation.js';

describe('whileKafkaSettles', () => {
  it('tries again while the cluster gives a passing error, then returns the result', async () => {
    let calls = 0;
    const result = await whileKafkaSettles(async () => {
      calls += 1;
      if (calls < 3)
        throw Object.assign(new Error('This server does not host this topic-partition'), { type: 'UNKNOWN_TOPIC_OR_PARTITION' });
      return 'subscribed';
    });
    expect(result).toBe('subscribed');
    expect(calls).toBe(3);
  });

  it('gives up at once on any other error', async () => {
    let calls = 0;
    const failing = whileKafkaSettles(async () => {
      calls += 1;
      throw Object.assign(new Error('not authorized'), { type: 'TOPIC_AUTHORIZATION_FAILED' });
    });
    await expect(failing).rejects.toThrow('not authorized');
    expect(calls).toBe(1);
  });

  it('recognises a passing error wrapped by kafkajs after its own retries', () => {
    expect(isPassingKafkaError({ type: undefined, cause: { type: 'COORDINATOR_LOAD_IN_PROGRESS' } })).toBe(true);
  });
});
