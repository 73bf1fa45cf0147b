import type { BeforeApplicationShutdown, OnApplicationBootstrap } from '@nestjs/common';
import type { MessagingRuntime } from './messaging.runtime.js';

/** Nest's hooks for a service's MessagingRuntime, which knows no framework. */
export class MessagingLifecycle implements OnApplicationBootstrap, BeforeApplicationShutdown {
  constructor(private readonly runtime: MessagingRuntime) {}

  /** Returns at once: the service listens while messaging comes up in the background. */
  onApplicationBootstrap(): void {
    this.runtime.start();
  }

  /** Before the application closes, so the database (closed on shutdown) outlives the batches in flight. */
  async beforeApplicationShutdown(): Promise<void> {
    await this.runtime.stop();
  }
}
