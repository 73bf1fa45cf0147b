import { dropDatabase, withDatabase } from '@boxoffice/database';
import { defaultTransports, Routing, type TransportChoice } from '@boxoffice/messaging';
import { uniqueName } from '@boxoffice/testing';
import { deleteNamespace, grantNamespace } from './namespace-cleanup.js';
import { startServiceProcess, type ServiceProcess, type StartOptions } from './service-process.js';

const server = process.env.TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';

/**
 * A copy of boxoffice for one end-to-end spec: its services as processes, each with a database
 * of its own, all under one BOXOFFICE_NAMESPACE so that its queues, topics and consumer groups
 * are its own too, with the permissions the catalog gives each service on them. `teardown` stops
 * every process, drops the databases and deletes the queues, topics, consumer groups and
 * permissions of the namespace.
 */
export class TestSystem {
  readonly namespace = uniqueName('e2e');
  private readonly running: ServiceProcess[] = [];
  private granted: Promise<void> | undefined;

  /**
   * Specs run side by side, each with several services, against one PostgreSQL: small pools keep
   * them all under its connection limit (100 by default). Benchmarks pass their own size.
   */
  constructor(private readonly sharedEnv: Record<string, string> = { DATABASE_POOL_SIZE: '4' }) {}

  databaseUrl(service: string): string {
    return withDatabase(server, `${this.namespace}_${service}`);
  }

  /**
   * Starts one more instance of a service (several instances share its database and queues), and
   * resolves once its /health/ready answers, or the check `options.waitFor` names.
   */
  async start(service: string, env: Record<string, string> = {}, options: StartOptions = {}): Promise<ServiceProcess> {
    // Its services sign in with their own accounts: the namespace's permissions come first.
    await (this.granted ??= grantNamespace(this.namespace, this.transports));
    const instance = await startServiceProcess(
      service,
      {
        BOXOFFICE_NAMESPACE: this.namespace,
        DATABASE_URL: this.databaseUrl(service),
        ...this.sharedEnv,
        ...env,
      },
      options,
    );
    this.running.push(instance);
    return instance;
  }

  /** The transports its services run on (COMMAND_TRANSPORT, EVENT_TRANSPORT). */
  get transports(): TransportChoice {
    return {
      command: this.sharedEnv.COMMAND_TRANSPORT ?? defaultTransports.command,
      event: this.sharedEnv.EVENT_TRANSPORT ?? defaultTransports.event,
    };
  }

  /** Its routing, as its services have it: for a spec or a bench that looks at its queues, topics and consumer groups on the brokers. */
  get routing(): Routing {
    return new Routing({ transports: this.transports, namespace: this.namespace });
  }

  /** The transport its events travel on, for a tool that reads the event log itself. */
  get events(): string {
    return this.transports.event;
  }

  async teardown(): Promise<void> {
    await Promise.all(this.running.splice(0).map((instance) => instance.kill()));
    const services = ['checkout', 'billing', 'email', 'analytics', 'audit'];
    await Promise.all([
      ...services.map((service) => dropDatabase(this.databaseUrl(service))),
      deleteNamespace(this.namespace, this.transports),
    ]);
  }
}
