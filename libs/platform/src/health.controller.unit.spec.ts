import 'reflect-metadata';
import { describe, expect, it } from '@jest/globals';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { TerminusModule } from '@nestjs/terminus';
import { HealthController } from './health.controller.js';
import { READINESS_CHECKS, type ReadinessCheck } from './readiness-check.js';
import { ShutdownBudget } from './shutdown.budget.js';

const up = (name: string, part: ReadinessCheck['part']): ReadinessCheck => ({ name, part, check: async () => {} });
const down = (name: string, part: ReadinessCheck['part']): ReadinessCheck => ({
  name,
  part,
  check: async () => {
    throw new Error(`${name} is joining`);
  },
});

async function controllerWith(checks: ReadinessCheck[], shutdown?: ShutdownBudget): Promise<HealthController> {
  const budget = shutdown ? [{ provide: ShutdownBudget, useValue: shutdown }] : [];
  @Module({
    imports: [TerminusModule],
    controllers: [HealthController],
    providers: [{ provide: READINESS_CHECKS, useValue: checks }, ...budget],
  })
  class HealthModule {}
  const app = await NestFactory.createApplicationContext(HealthModule, { logger: false });
  return app.get(HealthController);
}

/** What an endpoint answers: 200 with its checks, or Terminus's 503 with the failing ones. */
async function answer(endpoint: () => Promise<unknown>): Promise<{ status: number; checks: string[]; failing: string[] }> {
  try {
    const body = (await endpoint()) as { details: Record<string, unknown> };
    return { status: 200, checks: Object.keys(body.details), failing: [] };
  } catch (error) {
    const response = error as { getStatus(): number; getResponse(): { details: Record<string, unknown>; error: Record<string, unknown> } };
    return {
      status: response.getStatus(),
      checks: Object.keys(response.getResponse().details),
      failing: Object.keys(response.getResponse().error),
    };
  }
}

describe('the health endpoints', () => {
  describe('when the database answers and a Kafka consumer is still joining its group', () => {
    const checks = [up('database', 'accepting'), up('kafka', 'consuming'), down('kafka consumer', 'consuming')];

    it('says it is accepting, from the database alone', async () => {
      const health = await controllerWith(checks);
      await expect(answer(() => health.accepting())).resolves.toEqual({ status: 200, checks: ['database'], failing: [] });
    });

    it('says it is not consuming, and names the consumer', async () => {
      const health = await controllerWith(checks);
      await expect(answer(() => health.consuming())).resolves.toEqual({
        status: 503,
        checks: ['kafka', 'kafka consumer'],
        failing: ['kafka consumer'],
      });
    });

    it('says it is not ready, since ready is both', async () => {
      const health = await controllerWith(checks);
      await expect(answer(() => health.ready())).resolves.toEqual({
        status: 503,
        checks: ['database', 'kafka', 'kafka consumer'],
        failing: ['kafka consumer'],
      });
    });
  });

  describe('when the database does not answer', () => {
    it('says it is not accepting, while consuming may still pass', async () => {
      const health = await controllerWith([down('database', 'accepting'), up('kafka', 'consuming')]);
      await expect(answer(() => health.accepting())).resolves.toMatchObject({ status: 503, failing: ['database'] });
      await expect(answer(() => health.consuming())).resolves.toMatchObject({ status: 200 });
    });
  });

  describe('when the service got SIGTERM', () => {
    const everythingUp = [up('database', 'accepting'), up('rabbitmq', 'consuming'), up('rabbitmq consumer', 'consuming')];

    it('is not ready, accepting or consuming from that moment, and says it is shutting down', async () => {
      const budget = new ShutdownBudget(8_000);
      const health = await controllerWith(everythingUp, budget);
      await expect(answer(() => health.ready())).resolves.toMatchObject({ status: 200 });
      budget.begin();
      const shuttingDown = { status: 503, checks: ['shutdown'], failing: ['shutdown'] };
      await expect(answer(() => health.ready())).resolves.toEqual(shuttingDown);
      await expect(answer(() => health.accepting())).resolves.toEqual(shuttingDown);
      await expect(answer(() => health.consuming())).resolves.toEqual(shuttingDown);
      await expect(health.ready()).rejects.toMatchObject({ response: { error: { shutdown: { message: 'shutting down' } } } });
    });

    it('stays live, so that nothing restarts it while it finishes its work', async () => {
      const budget = new ShutdownBudget(8_000);
      const health = await controllerWith(everythingUp, budget);
      budget.begin();
      await expect(answer(() => health.live())).resolves.toMatchObject({ status: 200 });
    });
  });
});
