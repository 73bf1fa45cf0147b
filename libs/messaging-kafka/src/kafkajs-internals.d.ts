// The one kafkajs internal this lib touches (see kafkajs.request-queue.fix.ts). kafkajs ships no
// types for its internals, so the shape relied on is declared here and nowhere else.
declare module 'kafkajs/src/network/requestQueue/index.js' {
  interface RequestQueue {
    pending: unknown[];
    throttledUntil: number;
    scheduleCheckPendingRequests(): void;
  }
  const RequestQueue: { prototype: RequestQueue };
  export default RequestQueue;
}
