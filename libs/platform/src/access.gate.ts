import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { timingSafeEqual } from 'node:crypto';

/**
 * A secret a caller must show to use some routes: the operator's admin key, or the service token
 * Checkout shows Billing. It is shown as `Authorization: Bearer <secret>` (what Prometheus and
 * service clients send) or, for a person with curl, as `x-admin-key: <secret>`.
 */
export interface Credential {
  /** What a refusal calls it: "the admin key", "Checkout's service token". */
  readonly name: string;
  readonly secret: string;
}

/** The routes one credential guards, as Fastify names them: `POST /charges`, `GET /emails/:id`; `GET /docs*` is a prefix. */
export interface AccessRule {
  readonly routes: ReadonlyArray<string>;
  readonly credential: Credential;
}

/** Wrong secrets one client may show in a window before it is told to wait (429): a person mistyping gets several tries. */
const GUESSES_PER_WINDOW = 10;
const GUESS_WINDOW_MS = 60_000;
/** Clients tracked at most: past it the tally starts again, so a flood of addresses costs no memory. */
const TRACKED_CLIENTS = 10_000;

/**
 * Who may call what, checked in Fastify's `onRequest` hook: before the body is read or parsed
 * and before Nest routes anything, so a caller without the credential costs nothing, learns
 * nothing from validation errors, and changes nothing. Secrets are compared in constant time.
 * A client that keeps showing wrong secrets is answered 429 with Retry-After until its window
 * ends, so guessing is slow.
 */
export class AccessGate {
  private readonly credentials: RouteMap<Credential>;
  private readonly guesses = new Map<string, { count: number; until: number }>();

  constructor(
    rules: ReadonlyArray<AccessRule>,
    private readonly now: () => number = Date.now,
  ) {
    this.credentials = new RouteMap(rules.flatMap(({ routes, credential }) => routes.map((route) => [route, credential] as const)));
  }

  /** Whether a route (`GET /emails/:id`) needs a credential: the rate limit of public routes leaves these out. */
  guards(method: string, url: string | undefined): boolean {
    return this.credentials.get(method, url) !== undefined;
  }

  attach(fastify: FastifyInstance): void {
    fastify.addHook('onRequest', (request, reply, done) => this.check(request, reply, done));
  }

  private check(request: FastifyRequest, reply: FastifyReply, done: () => void): void {
    const credential = this.credentials.get(request.method, request.routeOptions.url);
    if (!credential) return done();
    const client = request.ip;
    const tally = this.guesses.get(client);
    if (tally && tally.count >= GUESSES_PER_WINDOW && tally.until > this.now()) {
      const seconds = Math.ceil((tally.until - this.now()) / 1_000);
      void reply
        .code(429)
        .header('retry-after', String(seconds))
        .send({ statusCode: 429, error: 'Too Many Requests', message: `too many wrong credentials; try again in ${seconds} s` });
      return;
    }
    const shown = shownSecret(request);
    if (shown !== undefined && sameSecret(shown, credential.secret)) return done();
    // A wrong secret is a guess; none at all is a caller who did not know the route was guarded.
    if (shown !== undefined) this.countGuess(client);
    void reply
      .code(401)
      .header('www-authenticate', 'Bearer')
      .send({ statusCode: 401, error: 'Unauthorized', message: `${credential.name} is required (Authorization: Bearer, or x-admin-key)` });
  }

  private countGuess(client: string): void {
    const now = this.now();
    const tally = this.guesses.get(client);
    if (tally && tally.until > now) {
      tally.count += 1;
      return;
    }
    if (this.guesses.size >= TRACKED_CLIENTS) this.guesses.clear();
    this.guesses.set(client, { count: 1, until: now + GUESS_WINDOW_MS });
  }
}

/**
 * Routes as Fastify names them (`POST /charges`, `GET /emails/:id`; `GET /docs*` a prefix), each
 * with a value. HEAD is GET's.
 */
export class RouteMap<T> {
  private readonly exact = new Map<string, T>();
  private readonly prefixes: Array<[string, T]> = [];

  constructor(entries: Iterable<readonly [string, T]>) {
    for (const [route, value] of entries) {
      if (route.endsWith('*')) this.prefixes.push([route.slice(0, -1), value]);
      else this.exact.set(route, value);
    }
  }

  get(method: string, url: string | undefined): T | undefined {
    if (url === undefined) return undefined;
    const route = `${method === 'HEAD' ? 'GET' : method} ${url}`;
    return this.exact.get(route) ?? this.prefixes.find(([prefix]) => route.startsWith(prefix))?.[1];
  }
}

function shownSecret(request: FastifyRequest): string | undefined {
  const authorization = request.headers.authorization;
  if (authorization?.startsWith('Bearer ')) return authorization.slice('Bearer '.length).trim();
  const key = request.headers['x-admin-key'];
  return typeof key === 'string' ? key : undefined;
}

/** Compares in constant time for secrets of the same length; a different length is refused at once (it reveals only the length). */
export function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}
