export { SqsTransport, type SqsTransportOptions } from './sqs.transport.js';
export { deadLetterQueueNameOf, queueNameOf, type QueueType } from './sqs.queues.js';
export { sqsPolicies, type SqsPolicy } from './sqs.permissions.js';
