// Just enough of the Kafka wire protocol to talk to a broker without a client library:
//   - ApiVersions v0 and SaslHandshake v1: infra:up's probe asks "are you up, and will you take
//     our sign-in?". A port can be taken by something else entirely, and a broker that speaks
//     Kafka may take no SASL. A KRaft broker serves its client listener only once it has
//     registered with the controller, so an answer there is the point where a client's first call
//     would succeed. The probe goes no further: before a client has signed in, the broker answers
//     no other request.
//   - KafkaWireConnection: one connection that signs in (SaslAuthenticate v0, SCRAM-SHA-256) and
//     then sends any request, for a spec that must see raw answers (chaos.kafka-relay.int.spec.ts).
//
// Every message is a 4-byte big-endian size followed by that many bytes. A request carries
// header v1 (api_key, api_version, correlation_id, client_id); a response to these
// non-flexible versions starts with header v0 (correlation_id).
// Protocol guide: https://kafka.apache.org/protocol.html

import { once } from 'node:events';
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import net from 'node:net';

export const API_VERSIONS = 18;
export const SASL_HANDSHAKE = 17;
export const SASL_AUTHENTICATE = 36;
/** What boxoffice's clients sign in with. */
export const SASL_MECHANISM = 'SCRAM-SHA-256';

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

// SaslHandshake v1 body: the mechanism the client wants. A SASL listener answers with error 0 and
// its mechanisms; a listener without SASL with ILLEGAL_SASL_STATE (34).
export function saslHandshakeRequest(correlationId: number, mechanism: string): Buffer {
  const name = Buffer.from(mechanism);
  const length = Buffer.alloc(2);
  length.writeInt16BE(name.length);
  return encodeRequest(SASL_HANDSHAKE, 1, correlationId, Buffer.concat([length, name]));
}

export type SaslHandshakeResponse = { errorCode: number; mechanisms: string[] };

export function decodeSaslHandshake(bytes: Buffer, correlationId: number): SaslHandshakeResponse {
  const read = responseReader(bytes, correlationId);
  const errorCode = read.int16();
  const mechanisms: string[] = [];
  for (let i = read.int32(); i > 0; i--) mechanisms.push(read.string() ?? '');
  return { errorCode, mechanisms };
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

// A cursor over a response body, after checking it answers the request we sent.
function responseReader(frame: Buffer, expectedCorrelationId: number) {
  let at = 4; // skip the size prefix
  const int16 = () => ((at += 2), frame.readInt16BE(at - 2));
  const int32 = () => ((at += 4), frame.readInt32BE(at - 4));
  const string = (): string | null => {
    const length = int16();
    if (length < 0) return null;
    at += length;
    return frame.toString('utf8', at - length, at);
  };
  const correlationId = int32();
  if (correlationId !== expectedCorrelationId) {
    throw new Error(`answer to request ${correlationId} when ${expectedCorrelationId} was expected`);
  }
  const bytes = (): Buffer => {
    const length = int32();
    at += Math.max(0, length);
    return frame.subarray(at - Math.max(0, length), at);
  };
  return { int16, int32, string, bytes };
}

/** One connection to a broker that sends a request and waits for its answer, one at a time. */
export class KafkaWireConnection {
  private received = Buffer.alloc(0);
  private waiting: ((frame: Buffer) => void) | undefined;
  private failed: Error | undefined;
  private correlationId = 0;
  private readonly socket: net.Socket;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => {
      this.received = Buffer.concat([this.received, chunk]);
      if (!this.waiting || !isCompleteResponse(this.received)) return;
      const size = 4 + this.received.readInt32BE(0);
      const frame = this.received.subarray(0, size);
      this.received = this.received.subarray(size);
      const resolve = this.waiting;
      this.waiting = undefined;
      resolve(frame);
    });
    socket.on('error', (error) => (this.failed = error));
  }

  static async open(host: string, port: number): Promise<KafkaWireConnection> {
    const socket = net.connect(port, host);
    await once(socket, 'connect');
    return new KafkaWireConnection(socket);
  }

  /**
   * Sends `encode(correlationId)` and resolves to the whole answer (size prefix included); rejects
   * if the broker hangs up first, or has not answered within `timeoutMs`.
   */
  request(encode: (correlationId: number) => Buffer, timeoutMs = 10_000): Promise<{ bytes: Buffer; correlationId: number }> {
    const correlationId = ++this.correlationId;
    return new Promise((resolve, reject) => {
      if (this.failed) return reject(this.failed);
      const fail = (error: Error) => {
        clearTimeout(timer);
        this.socket.off('close', closed);
        this.waiting = undefined;
        reject(error);
      };
      const closed = () => fail(new Error('the broker closed the connection before it answered'));
      const timer = setTimeout(() => fail(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      this.socket.once('close', closed);
      this.waiting = (bytes) => {
        clearTimeout(timer);
        this.socket.off('close', closed);
        resolve({ bytes, correlationId });
      };
      this.socket.write(encode(correlationId));
    });
  }

  /**
   * Signs in with SASL/SCRAM-SHA-256 (RFC 5802, RFC 7677), as a client library does: the broker
   * answers nothing else before. Rejects with the broker's reason if it refuses the account.
   */
  async signIn(user: string, password: string): Promise<void> {
    const handshake = await this.request((id) => saslHandshakeRequest(id, SASL_MECHANISM));
    const { errorCode } = decodeSaslHandshake(handshake.bytes, handshake.correlationId);
    if (errorCode !== 0) throw new Error(`SaslHandshake failed with Kafka error ${errorCode}`);
    const nonce = randomBytes(24).toString('base64');
    const firstBare = `n=${user.replace(/=/g, '=3D').replace(/,/g, '=2C')},r=${nonce}`;
    const serverFirst = (await this.authenticate(`n,,${firstBare}`)).toString('utf8');
    const fields = new Map(serverFirst.split(',').map((field) => [field[0], field.slice(2)]));
    const serverNonce = fields.get('r') ?? '';
    if (!serverNonce.startsWith(nonce)) throw new Error('the broker answered the SCRAM sign-in with a nonce that is not ours');
    const salted = pbkdf2Sync(password, Buffer.from(fields.get('s') ?? '', 'base64'), Number(fields.get('i')), 32, 'sha256');
    const clientKey = createHmac('sha256', salted).update('Client Key').digest();
    const finalWithoutProof = `c=biws,r=${serverNonce}`;
    const authMessage = `${firstBare},${serverFirst},${finalWithoutProof}`;
    const signature = createHmac('sha256', createHash('sha256').update(clientKey).digest()).update(authMessage).digest();
    const proof = Buffer.from(clientKey.map((byte, i) => byte ^ signature[i]));
    const serverFinal = (await this.authenticate(`${finalWithoutProof},p=${proof.toString('base64')}`)).toString('utf8');
    // The broker proves it knows the password too (ServerSignature): a stranger answering on its port does not.
    const serverKey = createHmac('sha256', salted).update('Server Key').digest();
    const expected = createHmac('sha256', serverKey).update(authMessage).digest('base64');
    if (serverFinal !== `v=${expected}`) throw new Error(`the broker's SCRAM answer does not prove it knows the account (${serverFinal})`);
  }

  close(): void {
    this.socket.destroy();
  }

  /** SaslAuthenticate v0: one step of the SASL conversation. Its body and its answer's last field are bytes (int32 length). */
  private async authenticate(message: string): Promise<Buffer> {
    const data = Buffer.from(message, 'utf8');
    const length = Buffer.alloc(4);
    length.writeInt32BE(data.length);
    const answer = await this.request((id) => encodeRequest(SASL_AUTHENTICATE, 0, id, Buffer.concat([length, data])));
    const read = responseReader(answer.bytes, answer.correlationId);
    const errorCode = read.int16();
    const errorMessage = read.string();
    if (errorCode !== 0) throw new Error(`the broker refused the sign-in: ${errorMessage ?? `Kafka error ${errorCode}`}`);
    return read.bytes();
  }
}
