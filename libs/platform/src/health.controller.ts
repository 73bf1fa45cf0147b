import { Controller, Get, Inject, Optional, ServiceUnavailableException } from '@nestjs/common';
import { HealthCheck, HealthCheckService, HealthIndicatorService } from '@nestjs/terminus';
import { READINESS_CHECKS, type ReadinessCheck } from './readiness-check.js';
import { ShutdownBudget } from './shutdown.budget.js';

/**
 * Every service's health endpoints. Add it to the root module next to TerminusModule.
 *
 * | path                | 200 when                                                        | fits               |
 * | ------------------- | --------------------------------------------------------------- | ------------------ |
 * | `/health/live`      | the process serves HTTP                                         | a liveness probe   |
 * | `/health/accepting` | its database answers: it takes requests (Checkout's 202)        | a front door       |
 * | `/health/consuming` | brokers connected, outbox relay running, consumers in a group   | a worker's queue   |
 * | `/health/ready`     | both of the above                                               | the default        |
 *
 * The split is what lets a restarted Checkout take purchases while its Kafka group is still
 * rebalancing (see readiness-check.ts).
 *
 * From SIGTERM on (the shutdown budget begun), `accepting`, `consuming` and `ready` answer 503
 * "shutting down" at once, whatever the dependencies say, so a load balancer or an orchestrator
 * stops sending work while the service finishes what it has; `live` stays 200 until the HTTP
 * server closes, so nothing restarts a service that is stopping on purpose.
 */
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    @Inject(READINESS_CHECKS) private readonly checks: ReadinessCheck[],
    /** The service's (startService provides it); absent where no signal can stop the app (a test module). */
    @Optional() @Inject(ShutdownBudget) private readonly shutdown?: ShutdownBudget,
  ) {}

  /** The process is up and serving HTTP; nothing else is checked, so a broker outage never restarts it. */
  @Get('live')
  @HealthCheck()
  live() {
    return this.health.check([]);
  }

  /** Its database answers: it can accept work through its own door. 503 with the failing check otherwise. */
  @Get('accepting')
  @HealthCheck()
  accepting() {
    return this.run(this.checks.filter(({ part }) => part === 'accepting'));
  }

  /** Its brokers, relay and consumers are up: it takes work from its queues and topics and hands work on. */
  @Get('consuming')
  @HealthCheck()
  consuming() {
    return this.run(this.checks.filter(({ part }) => part === 'consuming'));
  }

  /** Accepting and consuming: it can do all of its work. 503 with the failing checks otherwise. */
  @Get('ready')
  @HealthCheck()
  ready() {
    return this.run(this.checks);
  }

  private async run(checks: ReadonlyArray<ReadinessCheck>) {
    if (this.shutdown?.begun) {
      // Terminus's answer, without Terminus's error log: being asked while stopping is no failure.
      const shutdown = { shutdown: { status: 'down', message: 'shutting down' } };
      throw new ServiceUnavailableException({ status: 'error', info: {}, error: shutdown, details: shutdown });
    }
    return this.health.check(
      checks.map((readiness) => async () => {
        const indicator = this.indicators.check(readiness.name);
        try {
          await withTimeout(readiness.check(), 2_000);
          return indicator.up();
        } catch (error) {
          return indicator.down({ message: error instanceof Error ? error.message : String(error) });
        }
      }),
    );
  }
}

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
