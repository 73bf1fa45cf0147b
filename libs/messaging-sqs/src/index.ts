export { SqsTransport, type SqsTransportOptions } from './sqs.transport.js';
export { deadLetterQueueNameOf, queueNameOf, type QueueType } from './sqs.queues.js';
export { sqsPolicies } from './sqs.permissions.js';
