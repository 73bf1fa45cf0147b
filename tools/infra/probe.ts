// "Does it answer?" for PostgreSQL, RabbitMQ and Kafka, using each one's own protocol rather
// than a bare TCP connect: a port can be open long before the server behind it serves clients,
// and a port can be taken by something else entirely. Node built-ins only, so infra:up runs
// before `npm ci` and a test setup can call these without pulling in the client libraries.

import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { formatAddress, type HostPort } from './addresses.ts';
import {
  apiVersionsRequest,
  decodeApiVersions,
  decodeSaslHandshake,
  isCompleteResponse,
  SASL_HANDSHAKE,
  SASL_MECHANISM,
  saslHandshakeRequest,
} from './kafka-wire.ts';

// ready:   it speaks the protocol and would serve a client now.
// absent:  nothing accepts connections there (refused, unreachable, or no answer to connect).
// unready: something accepted the connection but did not (yet) answer like a working server.
// refused: the server works and turns us away (wrong credentials): waiting would not help.
export type ProbeState = 'ready' | 'absent' | 'unready' | 'refused';
export type ProbeResult = { state: ProbeState; detail: string };
export type Probe = (address: HostPort) => Promise<ProbeResult>;

const PROBE_TIMEOUT_MS = 2_000;

// Like pg_isready: send a StartupMessage and look at the first reply. An authentication
// request, or any error other than "the database system is starting up" (SQLSTATE 57P03),
// proves the server accepts connections; whether these credentials are right is the
// services' business, not the probe's.
// https://www.postgresql.org/docs/current/protocol-flow.html#PROTOCOL-FLOW-START-UP
export async function probePostgres(address: HostPort): Promise<ProbeResult> {
  const user = process.env.PGUSER || 'postgres';
  const params = Buffer.from(`user\0${user}\0database\0postgres\0\0`);
  const startup = Buffer.alloc(8);
  startup.writeInt32BE(8 + params.length, 0);
  startup.writeInt32BE(3 << 16, 4); // protocol 3.0
  const terminate = Buffer.from([0x58, 0, 0, 0, 4]); // 'X': leave politely, so the server logs nothing

  const reply = await exchange(address, Buffer.concat([startup, params]), isCompletePgMessage, terminate);
  if (reply.result) return reply.result;
  const type = String.fromCharCode(reply.bytes[0]);
  if (type === 'R') return { state: 'ready', detail: 'accepts connections' };
  if (type === 'E') {
    const { code, message } = pgError(reply.bytes);
    if (code === '57P03') return { state: 'unready', detail: message };
    return { state: 'ready', detail: `accepts connections (${message})` };
  }
  return { state: 'unready', detail: `answered '${type}' to a startup message: is this PostgreSQL?` };
}

// Send the AMQP 0-9-1 protocol header; a broker that will talk answers with a Connection.Start
// method frame, and every method frame starts with frame type 1. A broker that wants another
// protocol version answers with its own "AMQP...." header instead.
// https://www.rabbitmq.com/resources/specs/amqp0-9-1.pdf section 4.2.2
// We hang up before the handshake completes, so RabbitMQ logs one "closed TCP connection"
// warning per probe; that is the price of not depending on amqplib here.
export async function probeRabbitmq(address: HostPort): Promise<ProbeResult> {
  const reply = await exchange(address, Buffer.from('AMQP\x00\x00\x09\x01', 'latin1'), (bytes) => bytes.length > 0);
  if (reply.result) return reply.result;
  if (reply.bytes[0] === 0x01) return { state: 'ready', detail: 'AMQP 0-9-1 handshake started' };
  return { state: 'unready', detail: `answered ${JSON.stringify(reply.bytes.toString('latin1', 0, 8))} to an AMQP 0-9-1 header` };
}

// Ready once the broker answers ApiVersions without error and takes a SASL/SCRAM-SHA-256 sign-in,
// as boxoffice's clients make it; refused if it speaks Kafka without SASL. See kafka-wire.ts for the bytes.
export async function probeKafka(address: HostPort): Promise<ProbeResult> {
  const versionsReply = await exchange(address, apiVersionsRequest(1), isCompleteResponse);
  if (versionsReply.result) return versionsReply.result;
  const versions = decodeApiVersions(versionsReply.bytes, 1);
  if (versions.errorCode !== 0) {
    return { state: 'unready', detail: `ApiVersions failed with Kafka error code ${versions.errorCode}` };
  }
  const handshakeRange = versions.apis.get(SASL_HANDSHAKE);
  if (!handshakeRange || handshakeRange.max < 1) return { state: 'unready', detail: 'broker does not answer SaslHandshake v1' };

  const handshakeReply = await exchange(address, saslHandshakeRequest(2, SASL_MECHANISM), isCompleteResponse);
  if (handshakeReply.result) return handshakeReply.result;
  const { errorCode, mechanisms } = decodeSaslHandshake(handshakeReply.bytes, 2);
  if (errorCode === 0) return { state: 'ready', detail: `takes ${SASL_MECHANISM} sign-ins` };
  if (errorCode === ILLEGAL_SASL_STATE) {
    return {
      state: 'refused',
      detail:
        "speaks Kafka without SASL, so boxoffice's accounts cannot sign in: stop that broker (npm run infra:down, if infra:up started it), then infra:up again",
    };
  }
  return {
    state: 'refused',
    detail: `takes ${mechanisms.join(', ') || 'no SASL mechanism'}, not ${SASL_MECHANISM} (Kafka error ${errorCode})`,
  };
}

const ILLEGAL_SASL_STATE = 34;

export type WaitOptions = {
  timeoutMs: number;
  log: (line: string) => void;
  // Called between tries; returning a reason stops the wait early (e.g. the process we
  // started has already exited, so waiting out the deadline would only hide the error).
  stopIf?: () => string | undefined;
};

// Poll until the probe says ready or the deadline passes; returns the last result either way.
export async function waitUntilReady(name: string, address: HostPort, probe: Probe, options: WaitOptions): Promise<ProbeResult> {
  const started = Date.now();
  let lastReport = started;
  for (;;) {
    const result = await probe(address);
    if (result.state === 'ready' || result.state === 'refused') return result;
    const stopReason = options.stopIf?.();
    if (stopReason) return { state: result.state, detail: stopReason };
    const elapsed = Date.now() - started;
    if (elapsed >= options.timeoutMs) {
      return { state: result.state, detail: `not ready after ${Math.round(elapsed / 1000)} s: ${result.detail}` };
    }
    if (Date.now() - lastReport >= 5_000) {
      lastReport = Date.now();
      const waited = `${Math.round(elapsed / 1000)} s of ${options.timeoutMs / 1000}`;
      options.log(`  ${name}: waiting for ${formatAddress(address)} (${waited}): ${result.detail}`);
    }
    await sleep(500);
  }
}

type Exchange = { bytes: Buffer; result?: undefined } | { bytes?: undefined; result: ProbeResult };

// Connect, send one request, collect bytes until `isComplete` says the reply is whole, hang up.
// Every failure becomes a ProbeResult: "absent" if we never connected, "unready" if we did.
function exchange(address: HostPort, request: Buffer, isComplete: (received: Buffer) => boolean, goodbye?: Buffer): Promise<Exchange> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: address.host, port: address.port });
    let connected = false;
    let received = Buffer.alloc(0);
    let settled = false;

    const fail = (detail: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ result: { state: connected ? 'unready' : 'absent', detail } });
    };
    const timer = setTimeout(
      () => fail(connected ? `no answer within ${PROBE_TIMEOUT_MS} ms` : `no connection within ${PROBE_TIMEOUT_MS} ms`),
      PROBE_TIMEOUT_MS,
    );

    socket.once('connect', () => {
      connected = true;
      socket.write(request);
    });
    socket.on('data', (chunk) => {
      received = Buffer.concat([received, chunk]);
      if (settled || !isComplete(received)) return;
      settled = true;
      clearTimeout(timer);
      if (goodbye) socket.end(goodbye);
      else socket.destroy();
      resolve({ bytes: received });
    });
    socket.once('error', (error: NodeJS.ErrnoException) => fail(error.code === 'ECONNREFUSED' ? 'connection refused' : error.message));
    socket.once('close', () => fail('closed the connection without a complete answer'));
  });
}

// A PostgreSQL backend message: 1 type byte, then an Int32 length that counts itself.
function isCompletePgMessage(bytes: Buffer): boolean {
  return bytes.length >= 5 && bytes.length >= 1 + bytes.readInt32BE(1);
}

// ErrorResponse body: (field type byte, C string)* then a 0 byte. 'C' is the SQLSTATE code,
// 'M' the human-readable message.
function pgError(bytes: Buffer): { code: string; message: string } {
  const fields = new Map<string, string>();
  let at = 5;
  while (at < bytes.length && bytes[at] !== 0) {
    const type = String.fromCharCode(bytes[at]);
    const end = bytes.indexOf(0, at + 1);
    fields.set(type, bytes.toString('utf8', at + 1, end));
    at = end + 1;
  }
  return { code: fields.get('C') ?? '', message: fields.get('M') ?? 'error without a message' };
}
