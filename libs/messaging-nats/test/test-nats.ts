/** The NATS server (with JetStream) the specs run against: `npm run infra:up` starts one. */
export const natsUrl = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
