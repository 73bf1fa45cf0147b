// A repair for a RabbitMQ bug this project meets (rabbitmq/rabbitmq-server#16652, open): the
// workers that move at-least-once dead letters out of quorum queues live under one supervisor,
// rabbit_fifo_dlx_sup, with a small restart budget. Deleting a quorum queue while its worker is
// still registering with it (right after a node restart, as the RabbitMQ restart spec does) crashes
// the worker twice, the budget is spent, and the supervisor stops for good: from then on every
// quorum queue with at-least-once dead-lettering fails to start its leader, and a client declaring
// one sees its connection closed with 541 INTERNAL_ERROR, until the node restarts.
//
// On a RabbitMQ that rabbitmqctl here can reach (the machine's own), this finds that state and
// restarts the rabbit application, which starts the supervisor again. Anywhere else it does nothing.
import { execFileSync } from 'node:child_process';

export type DeadLetterSupervisor = 'running' | 'repaired' | 'not checked';

export function repairDeadLetterSupervisor(log: (line: string) => void = console.log): DeadLetterSupervisor {
  const rabbitmqctl = (...args: string[]) =>
    execFileSync('rabbitmqctl', ['-q', ...args], { encoding: 'utf8', stdio: 'pipe', timeout: 60_000 });
  let where: string;
  try {
    where = rabbitmqctl('eval', 'whereis(rabbit_fifo_dlx_sup).').trim();
  } catch {
    return 'not checked'; // no rabbitmqctl, or not this node's
  }
  if (where !== 'undefined') return 'running';
  log(
    '  rabbitmq: its dead-letter supervisor (rabbit_fifo_dlx_sup) has stopped (rabbitmq-server#16652); restarting the rabbit application',
  );
  rabbitmqctl('stop_app');
  rabbitmqctl('start_app');
  return 'repaired';
}
