export { NatsTransport, type NatsTransportOptions } from './nats.transport.js';
export { readStreamToEnd, type StreamRecord } from './nats.stream-reader.js';
