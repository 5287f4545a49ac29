// The real process table, for tests about what outlives what: the processes below a pid, whether
// one is alive, and polling until something shows up or goes away.

import { readFileSync, readdirSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/** Every process below `root`, with its command line, from /proc. */
export function descendants(root: number): { pid: number; cmd: string }[] {
  const parent = new Map<number, number>();
  const cmds = new Map<number, string>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      parent.set(Number(name), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
      cmds.set(Number(name), readFileSync(`/proc/${name}/cmdline`, 'utf8').replace(/\0/g, ' ').trim());
    } catch {
      // gone meanwhile
    }
  }
  const below = (pid: number): number[] => [...parent].filter(([, pp]) => pp === pid).flatMap(([p]) => [p, ...below(p)]);
  return below(root).map((pid) => ({ pid, cmd: cmds.get(pid) ?? '' }));
}

export function alive(pid: number): boolean {
  // A zombie has exited: only its entry is left for its parent to reap.
  try {
    return !/^\S+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** Polls until `find` gives something (or fails after `ms`). */
export async function waitFor<T>(what: string, ms: number, find: () => T | undefined): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const got = find();
    if (got !== undefined) return got;
    if (Date.now() > until) throw new Error(`gave up waiting for ${what}`);
    await sleep(100);
  }
}

/** Waits until none of `pids` is alive; the ones still alive after `ms`. */
export async function survivors(pids: number[], ms: number): Promise<number[]> {
  const until = Date.now() + ms;
  while (pids.some(alive) && Date.now() < until) await sleep(100);
  return pids.filter(alive);
}
