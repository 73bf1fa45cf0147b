import { describe, expect, it } from '@jest/globals';
import { waitWithHeartbeats } from './kafka.backoff.js';

describe('waitWithHeartbeats', () => {
  it('waits the whole delay, heartbeating after each slice', async () => {
    let heartbeats = 0;
    const started = Date.now();
    await expect(waitWithHeartbeats(300, async () => void heartbeats++, new AbortController().signal, 10)).resolves.toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(299);
    // Thirty 10 ms slices, one heartbeat each; a loaded machine runs fewer, longer slices, but
    // only a slice stalled for over 150 ms would leave a single one.
    expect(heartbeats).toBeGreaterThanOrEqual(2);
    expect(heartbeats).toBeLessThanOrEqual(30);
  });

  it('gives up at once when the consumer stops', async () => {
    const stopping = new AbortController();
    const started = Date.now();
    const waiting = waitWithHeartbeats(10_000, async () => {}, stopping.signal, 1_000);
    stopping.abort();
    await expect(waiting).resolves.toBe(false);
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('fails when a heartbeat fails, so the partition goes back to the group', async () => {
    const rebalancing = new Error('The group is rebalancing');
    await expect(waitWithHeartbeats(100, () => Promise.reject(rebalancing), new AbortController().signal, 5)).rejects.toBe(rebalancing);
  });
});
