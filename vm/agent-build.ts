// The static mprog-agent for an arch and the library it preloads into bpftool, built by
// vm/agent/build.sh (which compiles only when they are missing or their inputs changed). Used by
// the host target and by the initramfs.

import { join } from 'node:path';
import { execa } from 'execa';
import { tied } from './lifetime.js';
import { repoRoot, type Arch } from './paths.js';

export interface AgentBuild {
  agent: string;
  /** bpftool-zygote.so: the fork server the agent preloads into bpftool (vm/agent/bpftool-zygote.c). */
  bpftoolZygote: string;
}

/** The agent's files for `arch`, built if needed; throws with build.sh's output when they cannot be. */
export async function buildAgent(arch: Arch): Promise<AgentBuild> {
  const dir = join(repoRoot(), 'vm', 'agent');
  const built = await execa(...tied('sh', [join(dir, 'build.sh'), arch], { tree: true }), { reject: false, all: true });
  if (built.exitCode !== 0) throw new Error(`building the agent (${arch}) failed:\n${(built.all ?? '').trim()}`);
  const out = join(dir, 'build', arch);
  return { agent: join(out, 'mprog-agent'), bpftoolZygote: join(out, 'bpftool-zygote.so') };
}
