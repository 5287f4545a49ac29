// The static mprog-agent for an arch and the library it preloads into bpftool, built by
// vm/agent/build.mjs (which compiles only when they are missing or their inputs changed). Used by
// the host target and by the initramfs.

import { join } from 'node:path';
import { repoRoot, type Arch } from './paths.js';
import { runTool } from './tool.js';

export interface AgentBuild {
  agent: string;
  /** bpftool-zygote.so: the fork server the agent preloads into bpftool (vm/agent/bpftool-zygote.c). */
  bpftoolZygote: string;
}

/** The agent's files for `arch`, built if needed; throws with build.mjs's last lines when they cannot be. */
export async function buildAgent(arch: Arch): Promise<AgentBuild> {
  const dir = join(repoRoot(), 'vm', 'agent');
  await runTool(process.execPath, [join(dir, 'build.mjs'), arch], { what: `building the agent (${arch})`, tree: true, lines: 30 });
  const out = join(dir, 'build', arch);
  return { agent: join(out, 'mprog-agent'), bpftoolZygote: join(out, 'bpftool-zygote.so') };
}
