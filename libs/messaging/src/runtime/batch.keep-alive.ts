/**
 * Keeps a batch its consumer's while the pipeline works on it, for a broker that takes it back
 * after a while (JetStream's ack wait, SQS's visibility timeout, a Kafka group's session
 * timeout): `renew` every `everyMs` until the function returned is called. A renew that fails
 * goes to `failed` (a heartbeat refused: the group is rebalancing); where none is given, the
 * next renew is the answer. The timer does not keep the process alive on its own.
 */
export function renewEvery(everyMs: number, renew: () => unknown, failed: (error: unknown) => void = () => {}): () => void {
  const timer = setInterval(() => void Promise.resolve().then(renew).catch(failed), everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
