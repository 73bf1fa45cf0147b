import { type AwaitableSender, type Receiver, ReceiverEvents, type Message, type Session } from 'rhea-promise';
import { randomUUID } from 'node:crypto';
import { describeError, type ActiveMqConnection } from './activemq.connection.js';
import { MANAGEMENT_ADDRESS, managementRepliesAddress } from './activemq.security.js';

/** What a management operation answered when it did not succeed (AMQ229019: the queue exists, ...). */
export class ManagementError extends Error {
  constructor(
    readonly operation: string,
    readonly answer: string,
  ) {
    super(`activemq management ${operation}: ${answer}`);
    this.name = 'ManagementError';
  }
}

interface Channel {
  readonly session: Session;
  readonly sender: AwaitableSender;
  readonly replies: Receiver;
  readonly replyTo: string;
}

const TIMEOUT_MS = 10_000;

/**
 * Artemis' management API over AMQP: a request to the `activemq.management` address names the
 * resource (`broker`, `queue.<name>`) and the operation in application properties, its body is
 * the JSON array of parameters, and the answer comes to our reply-to address with
 * `_AMQ_OperationSucceeded` and a JSON array holding the result. The reply-to address is a queue
 * under the client's name (`management.replies.<client>.<id>`), which its role may create and
 * read (activemq.security.ts); Artemis deletes it once the client has gone.
 * https://activemq.apache.org/components/artemis/documentation/latest/management.html#using-management-message-api
 * One request at a time (they are rare: provisioning, depth, purge), so an answer is always the
 * one awaited.
 */
export class ActiveMqManagement {
  private channel: Promise<Channel> | null = null;
  private queue: Promise<unknown> = Promise.resolve();
  private waiting: ((message: Message) => void) | null = null;
  private abandon: ((error: Error) => void) | null = null;

  constructor(
    private readonly connection: ActiveMqConnection,
    /** Whose answers they are: the service (its role's name), or a tool's name. */
    private readonly client: string,
  ) {
    connection.onLost(() => {
      this.channel = null;
      // Its answer went with the connection.
      this.abandon?.(new Error('activemq management: the connection was lost before the broker answered'));
    });
  }

  /** Runs `operation` on `resource`; resolves with its result, rejects with a ManagementError if it failed. */
  call<T = unknown>(resource: string, operation: string, parameters: ReadonlyArray<unknown> = []): Promise<T> {
    const next = this.queue.then(() => this.request<T>(resource, operation, parameters));
    this.queue = next.catch(() => {});
    return next;
  }

  private async request<T>(resource: string, operation: string, parameters: ReadonlyArray<unknown>): Promise<T> {
    const channel = await this.open();
    const answer = new Promise<Message>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting = null;
        this.channel = null; // a late answer would be taken for the next request's
        reject(new Error(`activemq management ${resource}.${operation}: no answer within ${TIMEOUT_MS} ms`));
      }, TIMEOUT_MS);
      this.waiting = (message) => {
        clearTimeout(timer);
        this.waiting = null;
        this.abandon = null;
        resolve(message);
      };
      this.abandon = (error) => {
        clearTimeout(timer);
        this.waiting = null;
        this.abandon = null;
        reject(error);
      };
    });
    answer.catch(() => {}); // awaited below; a loss while sending must not go unhandled
    await channel.sender.send(
      {
        reply_to: channel.replyTo,
        application_properties: { _AMQ_ResourceName: resource, _AMQ_OperationName: operation },
        body: JSON.stringify(parameters),
      },
      { timeoutInSeconds: TIMEOUT_MS / 1000 },
    );
    const reply = await answer;
    const body =
      typeof reply.body === 'string' ? reply.body : Buffer.isBuffer(reply.body) ? reply.body.toString() : JSON.stringify(reply.body);
    // A JSON array holding the result; `null` for an operation that returns nothing.
    const parsed: unknown = JSON.parse(body || 'null');
    const result = Array.isArray(parsed) ? parsed[0] : parsed;
    if (reply.application_properties?._AMQ_OperationSucceeded !== true)
      throw new ManagementError(`${resource}.${operation}`, String(result));
    return (typeof result === 'string' && /^[[{]/.test(result) ? JSON.parse(result) : result) as T;
  }

  private open(): Promise<Channel> {
    this.channel ??= (async () => {
      const session = await this.connection.current().createSession();
      const address = managementRepliesAddress(this.client, randomUUID());
      const replies = await session.createReceiver({ source: { address, capabilities: ['queue'] }, credit_window: 10, autoaccept: true });
      replies.on(ReceiverEvents.message, (context) => context.message && this.waiting?.(context.message));
      const sender = await session.createAwaitableSender({ target: { address: MANAGEMENT_ADDRESS } });
      return { session, sender, replies, replyTo: address };
    })().catch((error: unknown) => {
      this.channel = null;
      throw new Error(`activemq management: ${describeError(error)}`, { cause: error });
    });
    return this.channel;
  }
}
