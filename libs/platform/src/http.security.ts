import rateLimit from '@fastify/rate-limit';
import { HttpException } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyRequest } from 'fastify';
import helmet from 'helmet';
import { createHash } from 'node:crypto';
import { BlockList, isIPv4, isIPv6 } from 'node:net';
import { AccessGate, RouteMap, type AccessRule } from './access.gate.js';

/** Who may call what on one service's HTTP port, from its settings (httpSecurity) and its routes. */
export interface HttpSecurity {
  readonly adminKey: string;
  /** `admin-key`: /docs and /metrics need the admin key too. */
  readonly opsAccess: 'public' | 'admin-key';
  /** Requests a minute one client may make to the public routes; 0: no limit. */
  readonly rateLimitPerMinute: number;
  /** Addresses and subnets (`10.0.0.0/8`) the limit leaves alone: the load generator. */
  readonly rateLimitExempt: ReadonlyArray<string>;
  /** The service's own routes that only the operator may call, with the admin key: personal data, admin actions. */
  readonly adminRoutes: ReadonlyArray<string>;
  /** Routes another credential guards: Billing's POST /charges, for Checkout's service token. */
  readonly rules: ReadonlyArray<AccessRule>;
}

/** The settings every service has (serviceEnv) that say who may call what. */
export interface SecuritySettings {
  readonly ADMIN_API_KEY: string;
  readonly OPS_ACCESS: 'public' | 'admin-key';
  readonly RATE_LIMIT_PER_MINUTE: number;
  readonly RATE_LIMIT_EXEMPT: ReadonlyArray<string>;
}

export function httpSecurity(
  settings: SecuritySettings,
  routes: { readonly adminRoutes?: ReadonlyArray<string>; readonly rules?: ReadonlyArray<AccessRule> } = {},
): HttpSecurity {
  return {
    adminKey: settings.ADMIN_API_KEY,
    opsAccess: settings.OPS_ACCESS,
    rateLimitPerMinute: settings.RATE_LIMIT_PER_MINUTE,
    rateLimitExempt: settings.RATE_LIMIT_EXEMPT,
    adminRoutes: routes.adminRoutes ?? [],
    rules: routes.rules ?? [],
  };
}

/** What an operator reads: the API's documentation and the metrics. */
const OPS_ROUTES = ['GET /docs*', 'GET /metrics'];
/** What the rate limit never counts, besides the guarded routes: what operators and orchestrators poll. */
const UNLIMITED_ROUTES = [...OPS_ROUTES, 'GET /health*'];

/**
 * Every service's HTTP safeguards, in the order a request meets them (Fastify `onRequest` hooks,
 * before any body is read):
 * 1. AccessGate: the admin routes, and those of another credential, answer 401 without it;
 * 2. the rate limit of the public routes (@fastify/rate-limit): past RATE_LIMIT_PER_MINUTE from
 *    one address, 429 with Retry-After. Health checks, the guarded routes and /docs and /metrics
 *    are not counted; nor the exempt addresses;
 * 3. security headers on every answer (helmet), with a Content-Security-Policy that lets
 *    a page run only the scripts it was served with: a page with an inline script sets its own
 *    (pageSecurityPolicy).
 */
export async function secureHttp(app: NestFastifyApplication, security: HttpSecurity): Promise<void> {
  const adminRoutes = [...security.adminRoutes, ...(security.opsAccess === 'admin-key' ? OPS_ROUTES : [])];
  const gate = new AccessGate([
    ...security.rules,
    { routes: adminRoutes, credential: { name: 'the admin key', secret: security.adminKey } },
  ]);
  const fastify = app.getHttpAdapter().getInstance();
  gate.attach(fastify);
  // Exactly these directives: helmet's defaults add upgrade-insecure-requests, which sends a page
  // served over plain HTTP (every one here, TLS being the deployment's) to https for its scripts.
  // Helmet's middleware, built once and run on every request: the policy is read at start, not
  // for each answer (as @fastify/helmet does), which matters where answers are cheapest.
  const securityHeaders = helmet({ contentSecurityPolicy: { useDefaults: false, directives: policyDirectives([]) } });
  fastify.addHook('onRequest', (request, reply, done) => securityHeaders(request.raw, reply.raw, (error) => done(error as Error)));
  if (security.rateLimitPerMinute === 0) return;
  const exempt = blockListOf(security.rateLimitExempt);
  const unlimited = new RouteMap(UNLIMITED_ROUTES.map((route) => [route, true] as const));
  const uncounted = (request: FastifyRequest) =>
    request.routeOptions.url === undefined ||
    unlimited.get(request.method, request.routeOptions.url) === true ||
    gate.guards(request.method, request.routeOptions.url) ||
    exempt.check(request.ip, isIPv6(request.ip) ? 'ipv6' : 'ipv4');
  await app.register(rateLimit, { global: false });
  fastify.addHook(
    'onRequest',
    fastify.rateLimit({
      max: security.rateLimitPerMinute,
      timeWindow: 60_000,
      allowList: uncounted,
      // Thrown from the hook, and answered by Nest's exception filter: an HttpException, so a 429.
      errorResponseBuilder: (_request, context) =>
        new HttpException(
          {
            statusCode: 429,
            error: 'Too Many Requests',
            message: `more than ${context.max} requests a minute from one client; try again in ${context.after}`,
          },
          429,
        ),
    }),
  );
}

function blockListOf(entries: ReadonlyArray<string>): BlockList {
  const list = new BlockList();
  for (const entry of entries) {
    const [address, prefix] = entry.split('/');
    const type = isIPv4(address) ? 'ipv4' : 'ipv6';
    if (prefix === undefined) list.addAddress(address, type);
    else list.addSubnet(address, Number(prefix), type);
  }
  return list;
}

/** Helmet's policy, with `script-src` allowing exactly the inline scripts given (by their SHA-256). */
function policyDirectives(inlineScripts: ReadonlyArray<string>): Record<string, string[]> {
  const hashes = inlineScripts.map((script) => `'sha256-${createHash('sha256').update(script).digest('base64')}'`);
  return {
    'default-src': ["'self'"],
    'script-src': ["'self'", ...hashes],
    'script-src-attr': ["'none'"],
    'style-src': ["'self'", "'unsafe-inline'"],
    'img-src': ["'self'", 'data:'],
    'connect-src': ["'self'"],
    'object-src': ["'none'"],
    'base-uri': ["'self'"],
    'frame-ancestors': ["'self'"],
    'form-action': ["'self'"],
  };
}

/**
 * The Content-Security-Policy header of an HTML page whose script is inline: the page's own
 * `<script>` blocks, and nothing else, may run. Set it on the page's route (`@Header`).
 */
export function pageSecurityPolicy(html: string): string {
  const scripts = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map(([, body]) => body);
  return Object.entries(policyDirectives(scripts))
    .map(([directive, sources]) => `${directive} ${sources.join(' ')}`)
    .join('; ');
}
