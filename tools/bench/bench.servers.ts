// Every bench first makes sure its servers answer, as `npm run infra:up` does: it reuses what
// answers, starts what is missing, and otherwise stops at once with the line that says why,
// instead of a client waiting in silence for a broker that is not there.
import { commandTransports, eventTransports } from '@boxoffice/config';
import { ensureInfra, serverOfTransport } from '../infra/infra.ts';
import type { ServiceName } from '../infra/state.ts';

/** PostgreSQL and the servers of these transports (by default, those COMMAND_TRANSPORT and EVENT_TRANSPORT choose). */
export async function ensureBenchServers(bench: string, transports?: ReadonlyArray<string>): Promise<void> {
  const chosen = transports ?? [process.env.COMMAND_TRANSPORT || commandTransports[0], process.env.EVENT_TRANSPORT || eventTransports[0]];
  const servers = new Set<ServiceName>(['postgres', ...chosen.map((name) => serverOfTransport[name])]);
  if (!(await ensureInfra({ only: [...servers] })).ok) {
    console.error(`\n${bench} needs the servers above; see their lines.`);
    process.exit(1);
  }
}
