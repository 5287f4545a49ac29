// Whether mprog may reach the network: `--offline` (MPROG_OFFLINE=1, which children inherit) says
// no, and every download asks first, so that an offline run that needs what the cache lacks stops
// at once, naming it, rather than waiting on a mirror it cannot reach.

import { Unusable } from '../../contract/errors.js';
import { cacheRoot } from './paths.js';

export function offline(): boolean {
  return process.env['MPROG_OFFLINE'] === '1';
}

/** Throws, naming `what`, when mprog is offline: `what` is not cached and would be fetched. */
export function needNetwork(what: string): void {
  if (offline()) throw new Unusable(`--offline: ${what} is not in the cache (${cacheRoot()}) and would be fetched`);
}
