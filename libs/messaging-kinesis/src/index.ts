export { createKinesisClient, type KinesisClientOptions } from './kinesis.client.js';
export { KinesisCheckpoints, type ShardKey } from './kinesis.checkpoints.js';
export { KinesisConsumer, type KinesisConsumerOptions } from './kinesis.consumer.js';
export { DeadLetterMarkers, KinesisDeadLetters } from './kinesis.dead-letters.js';
export { LeaseCoordinator, LeaseLost, planLeases, type LeaseSettings } from './kinesis.leases.js';
export { KinesisPublisher, type PublisherOptions } from './kinesis.publisher.js';
export { lagAfter, readStreamDepth, readStreamToEnd, type ShardLag, type StreamRecord } from './kinesis.stream-reader.js';
export { deadLetterStreamOf, KinesisStreams, streamOf } from './kinesis.streams.js';
export { KinesisTransport, type KinesisTransportOptions } from './kinesis.transport.js';
