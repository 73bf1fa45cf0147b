import { afterAll, describe, expect, it } from '@jest/globals';
import { readdirSync, readFileSync } from 'node:fs';
import { getPriority } from 'node:os';
import { TestSystem } from './test-system.js';

/** The niceness of each thread of a process, from /proc (the 19th field of a thread's stat line). */
function threadNiceness(pid: number): number[] {
  return readdirSync(`/proc/${pid}/task`).map((thread) => {
    const stat = readFileSync(`/proc/${pid}/task/${thread}/stat`, 'utf8');
    // The name, in parentheses, may hold spaces: count the fields after it.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[16]);
  });
}

describe('a service started at a niceness, as npm start runs the subscribers of the event log', () => {
  const system = new TestSystem();
  /** Where the spec itself runs: `nice -n` adds to it (CI could run niced as a whole). */
  const base = getPriority();
  afterAll(() => system.teardown());

  it('runs every thread of it at that niceness, under its own pid', async () => {
    const audit = await system.start('audit', {}, { niceness: 10, waitFor: 'live' });
    const live = await fetch(`${audit.url}/health/live`);
    expect(live.status).toBe(200);
    const niceness = threadNiceness(audit.child.pid!);
    expect(niceness.length).toBeGreaterThan(1);
    expect(new Set(niceness)).toEqual(new Set([Math.min(19, base + 10)]));
  });

  it('runs one started without it at the usual priority', async () => {
    const audit = await system.start('audit', {}, { waitFor: 'live' });
    expect(new Set(threadNiceness(audit.child.pid!))).toEqual(new Set([base]));
  });
});
