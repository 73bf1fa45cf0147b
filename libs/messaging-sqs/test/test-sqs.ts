// Shared by the integration specs: the ElasticMQ (or SQS) they run against. Not part of the library's API.
export const sqsEndpoint = process.env.SQS_ENDPOINT ?? 'http://127.0.0.1:9324';

/**
 * Short enough that a consumer "killed" mid-batch has its messages handed out again within a
 * test's wait (the consumer renews it while a batch runs, so a long batch is not affected).
 */
export const testVisibilityTimeoutSeconds = 5;
