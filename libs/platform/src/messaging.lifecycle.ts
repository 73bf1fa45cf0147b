import type { BeforeApplicationShutdown, OnApplicationBootstrap } from '@nestjs/common';
import type { MessagingRuntime } from './messaging.runtime.js';
import type { ShutdownBudget } from './shutdown.budget.js';

/** Nest's hooks for a service's MessagingRuntime, which knows no framework. */
export class MessagingLifecycle implements OnApplicationBootstrap, BeforeApplicationShutdown {
  /** `budget`: the service's, begun at the signal (startService); without one, a close waits for everything. */
  constructor(
    private readonly runtime: MessagingRuntime,
    private readonly budget?: ShutdownBudget,
  ) {}

  /** Returns at once: the service listens while messaging comes up in the background. */
  onApplicationBootstrap(): void {
    this.runtime.start();
  }

  /**
   * Before the application closes, so the database (closed on shutdown) outlives the batches in
   * flight, and within the budget's phases for messaging: the HTTP server and the database close
   * in what is left of it.
   */
  async beforeApplicationShutdown(): Promise<void> {
    await this.runtime.stop(this.budget);
  }
}
