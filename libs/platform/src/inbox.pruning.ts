import { InboxPruner, type SqlExecutor } from '@boxoffice/messaging';
import { Logger, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';

/**
 * Nest's hooks for a service's InboxPruner: it starts with the application and stops before the
 * database client closes. Every service that consumes has one (provideMessaging), so no inbox
 * grows without bound.
 */
export class InboxPruning implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly pruner: InboxPruner;

  constructor(database: SqlExecutor, retentionMs: number) {
    this.pruner = new InboxPruner({ database, retentionMs, logger: new Logger('inbox') });
  }

  /** Returns at once: the first run goes on in the background while the service comes up. */
  onApplicationBootstrap(): void {
    this.pruner.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.pruner.stop();
  }
}
