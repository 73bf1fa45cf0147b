// The services of a chaos cell as processes: the five services, Billing twice (two instances
// share its database and queue), each started with the cell's environment, and each one that a
// fault SIGKILLs started again with the same.
import type { ServiceProcess, TestSystem } from '@boxoffice/e2e';
import { waitFor } from '@boxoffice/testing';

/** Environment by instance (`billing1`), on top of what every instance gets (`all`). */
export type FleetEnv = Partial<Record<Instance | 'all', Record<string, string>>>;

export const instances = ['checkout', 'billing1', 'billing2', 'email', 'analytics', 'audit'] as const;
export type Instance = (typeof instances)[number];

export class ServiceFleet {
  private readonly running = new Map<Instance, ServiceProcess>();

  constructor(
    private readonly system: TestSystem,
    private readonly env: FleetEnv,
  ) {}

  async startAll(): Promise<void> {
    // Six services starting at once on two cores take a while.
    await Promise.all(
      instances.map(async (name) =>
        this.running.set(name, await this.system.start(serviceOf(name), this.envOf(name), { timeoutMs: 120_000 })),
      ),
    );
  }

  url(name: Instance): string {
    return this.running.get(name)!.url;
  }

  /** SIGKILL: a crash, nothing finished or closed. */
  async kill(name: Instance): Promise<void> {
    await this.running.get(name)!.kill();
  }

  /** Starts a killed instance again; resolves once it takes requests (its database answers), and says how long that took. */
  async startAgain(name: Instance): Promise<{ acceptingMs: number; ready: () => Promise<number> }> {
    const started = performance.now();
    const instance = await this.system.start(serviceOf(name), this.envOf(name), { waitFor: 'accepting', timeoutMs: 120_000 });
    this.running.set(name, instance);
    return {
      acceptingMs: Math.round(performance.now() - started),
      // Ready means consuming too: a Kafka group join waits for the dead member's session to time out.
      ready: async () => {
        await waitFor(
          () => fetch(`${instance.url}/health/ready`).then((r) => r.status),
          (status) => status === 200,
          { timeoutMs: 90_000, intervalMs: 100, description: `${name} ready` },
        );
        return Math.round(performance.now() - started);
      },
    };
  }

  /** What each instance running now has printed (warnings and errors): kept beside a cell that did not reconcile. */
  outputs(): Array<[Instance, string]> {
    return [...this.running].map(([name, instance]) => [name, instance.output()]);
  }

  private envOf(name: Instance): Record<string, string> {
    return { ...this.env.all, ...this.env[name] };
  }
}

/** The service an instance runs (`billing1` and `billing2` run Billing). */
export const serviceOf = (name: Instance) => name.replace(/\d$/, '');
