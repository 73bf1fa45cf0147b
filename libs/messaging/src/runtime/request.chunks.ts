/** The most one batch request of a broker takes: so many entries, and so many bytes as the broker counts them. */
export interface RequestLimits {
  readonly entries: number;
  readonly bytes: number;
}

/**
 * Entries cut, in their order, into the batch requests a broker takes (SQS's ten messages and
 * 256 KB, Kinesis' 500 records and 5 MB), each as full as its limits allow. An entry over `bytes`
 * by itself goes in a request of its own, for the broker to refuse, or the caller before it.
 */
export function chunksWithin<T>(entries: ReadonlyArray<T>, limits: RequestLimits, sizeOf: (entry: T) => number): T[][] {
  const chunks: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const entry of entries) {
    const size = sizeOf(entry);
    if (current.length > 0 && (current.length === limits.entries || bytes + size > limits.bytes)) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(entry);
    bytes += size;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}
