import { KinesisClient } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';

export interface KinesisClientOptions {
  /** Where Kinesis answers: kinesis-local's plain HTTP port here (KINESIS_ENDPOINT), or unset for AWS. */
  readonly endpoint?: string;
  readonly region?: string;
  /**
   * With a local endpoint, dummy ones by default (kinesis-local reads only the account from the
   * key id and checks no signature); on AWS (no endpoint), the SDK's usual credential chain.
   */
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string };
}

/**
 * The SDK's Kinesis client as this lib uses it. Over HTTP/1.1: the client's default handler is
 * HTTP/2 (for SubscribeToShard's event stream, which we do not use), and kinesis-local's HTTP/2
 * fails a PutRecords body of a few hundred records with a protocol error.
 */
export function createKinesisClient(options: KinesisClientOptions = {}): KinesisClient {
  return new KinesisClient({
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    region: options.region ?? 'us-east-1',
    ...(options.credentials || options.endpoint
      ? { credentials: options.credentials ?? { accessKeyId: 'boxoffice', secretAccessKey: 'local' } }
      : {}),
    // A request that gets no answer (a blackholed connection) fails after 30 s. The handler only
    // warns at its requestTimeout unless told to throw: without it a shard's GetRecords waited for
    // ever (bench:chaos, the proxy's blackhole), and its events were never read.
    requestHandler: new NodeHttpHandler({ connectionTimeout: 2_000, requestTimeout: 30_000, throwOnRequestTimeout: true }),
    // The SDK retries throttling and 5xx itself, three attempts; the publisher retries failed records on top.
    maxAttempts: 3,
  });
}
