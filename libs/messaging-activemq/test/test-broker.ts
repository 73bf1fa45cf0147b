// Shared by the integration specs: where the real Artemis is. Not part of the library's API.
export const activeMqUrl = process.env.ACTIVEMQ_URL ?? 'amqp://boxoffice:boxoffice@127.0.0.1:61617';
