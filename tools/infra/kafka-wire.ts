// Just enough of the Kafka wire protocol to ask a broker "are you up, and who is in the
// cluster?" without a client library: ApiVersions v0 and Metadata v4.
//
// Why not only a TCP connect: a broker opens its port well before it can serve clients (it
// still has to load its metadata log and register with the controller), and kafkajs fails
// fast against a broker in that state. A Metadata answer that lists a broker is the point
// where a client's first call would succeed.
//
// Every message is a 4-byte big-endian size followed by that many bytes. A request carries
// header v1 (api_key, api_version, correlation_id, client_id); a response to these
// non-flexible versions starts with header v0 (correlation_id).
// Protocol guide: https://kafka.apache.org/protocol.html

export const API_VERSIONS = 18;
export const METADATA = 3;
// Kafka 4 removed Metadata v0-v3 (KIP-896); v4 is the oldest it still answers and the newest
// that is not "flexible" (compact strings, tagged fields), so it keeps this parser small.
export const METADATA_VERSION = 4;

const CLIENT_ID = Buffer.from('boxoffice-infra-probe');

export function encodeRequest(apiKey: number, apiVersion: number, correlationId: number, body: Buffer): Buffer {
  const header = Buffer.alloc(2 + 2 + 4 + 2);
  header.writeInt16BE(apiKey, 0);
  header.writeInt16BE(apiVersion, 2);
  header.writeInt32BE(correlationId, 4);
  header.writeInt16BE(CLIENT_ID.length, 8);
  const message = Buffer.concat([header, CLIENT_ID, body]);
  const size = Buffer.alloc(4);
  size.writeInt32BE(message.length);
  return Buffer.concat([size, message]);
}

// ApiVersions v0 has an empty body; every broker since 0.10 answers it, whatever it supports.
export function apiVersionsRequest(correlationId: number): Buffer {
  return encodeRequest(API_VERSIONS, 0, correlationId, Buffer.alloc(0));
}

// Metadata v4 body: topics (an empty array asks for brokers only, where null would list every
// topic) and allow_auto_topic_creation (false: a probe must never create anything).
export function metadataRequest(correlationId: number): Buffer {
  const body = Buffer.alloc(4 + 1);
  body.writeInt32BE(0, 0);
  body.writeInt8(0, 4);
  return encodeRequest(METADATA, METADATA_VERSION, correlationId, body);
}

// True once `bytes` holds a whole size-prefixed response.
export function isCompleteResponse(bytes: Buffer): boolean {
  return bytes.length >= 4 && bytes.length >= 4 + bytes.readInt32BE(0);
}

export type ApiVersionsResponse = {
  errorCode: number;
  // api key -> the range of versions the broker accepts for it
  apis: Map<number, { min: number; max: number }>;
};

export function decodeApiVersions(bytes: Buffer, correlationId: number): ApiVersionsResponse {
  const read = responseReader(bytes, correlationId);
  const errorCode = read.int16();
  const apis = new Map<number, { min: number; max: number }>();
  // On an error (e.g. UNSUPPORTED_VERSION) the broker may still list what it does support.
  for (let i = read.int32(); i > 0; i--) {
    apis.set(read.int16(), { min: read.int16(), max: read.int16() });
  }
  return { errorCode, apis };
}

export type Broker = { nodeId: number; host: string; port: number };

export type MetadataResponse = { brokers: Broker[]; clusterId: string | null; controllerId: number };

export function decodeMetadata(bytes: Buffer, correlationId: number): MetadataResponse {
  const read = responseReader(bytes, correlationId);
  read.int32(); // throttle_time_ms
  const brokers: Broker[] = [];
  for (let i = read.int32(); i > 0; i--) {
    const broker = { nodeId: read.int32(), host: read.string() ?? '', port: read.int32() };
    read.string(); // rack
    brokers.push(broker);
  }
  const clusterId = read.string();
  const controllerId = read.int32();
  // The topics array follows; we asked for none, so stop here.
  return { brokers, clusterId, controllerId };
}

// A cursor over a response body, after checking it answers the request we sent.
function responseReader(bytes: Buffer, expectedCorrelationId: number) {
  let at = 4; // skip the size prefix
  const int16 = () => ((at += 2), bytes.readInt16BE(at - 2));
  const int32 = () => ((at += 4), bytes.readInt32BE(at - 4));
  const string = (): string | null => {
    const length = int16();
    if (length < 0) return null;
    at += length;
    return bytes.toString('utf8', at - length, at);
  };
  const correlationId = int32();
  if (correlationId !== expectedCorrelationId) {
    throw new Error(`answer to request ${correlationId} when ${expectedCorrelationId} was expected`);
  }
  return { int16, int32, string };
}
