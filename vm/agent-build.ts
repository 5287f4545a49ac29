// The static mprog-agent for an arch, built by vm/agent/build.sh (which compiles only when the
// binary is missing or its inputs changed). Used by the host target and by the initramfs.

import { join } from 'node:path';
import { execa } from 'execa';
import { tied } from './lifetime.js';
import { repoRoot, type Arch } from './paths.js';

/** Path of the agent binary for `arch`, built if needed; throws with build.sh's output when it cannot be. */
export async function buildAgent(arch: Arch): Promise<string> {
  const dir = join(repoRoot(), 'vm', 'agent');
  const built = await execa(...tied('sh', [join(dir, 'build.sh'), arch], { tree: true }), { reject: false, all: true });
  if (built.exitCode !== 0) throw new Error(`building the agent (${arch}) failed:\n${(built.all ?? '').trim()}`);
  return join(dir, 'build', arch, 'mprog-agent');
}
