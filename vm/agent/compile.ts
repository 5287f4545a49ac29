// The static mprog-agent for an arch and the library it preloads into bpftool, built by
// vm/agent/build.mjs into the cache (<cache>/agent/<arch>: nothing is written beside the sources),
// compiling only when they are missing, damaged or their inputs changed.
// Used by the host target and by the initramfs. Like everything under the cache, the build is
// checked before use: build.mjs records the SHA-256 of each output in the stamp, and an output
// that no longer matches (truncated, overwritten) is said to be damaged, once, removed and built again.

import { createHash } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Unusable } from '../../contract/errors.js';
import { notice } from '../runtime/notices.js';
import { type Arch, cacheRoot, repoRoot } from '../runtime/paths.js';
import { runTool } from '../runtime/run-tool.js';

export interface AgentBuild {
  agent: string;
  /** bpftool-zygote.so: the fork server the agent preloads into bpftool (vm/agent/bpftool-zygote.c). */
  bpftoolZygote: string;
}

const builds = new Map<string, Promise<AgentBuild>>();

/**
 * The agent's files for `arch`, built if needed; throws with build.mjs's last lines when they
 * cannot be. Targets prepared side by side (conform --jobs) share one build per cache and arch.
 */
export function buildAgent(arch: Arch): Promise<AgentBuild> {
  const key = join(cacheRoot(), 'agent', arch);
  let build = builds.get(key);
  if (!build) {
    build = buildInto(arch);
    builds.set(key, build);
    build.catch(() => builds.delete(key)); // a failed build is tried again by the next caller
  }
  return build;
}

async function buildInto(arch: Arch): Promise<AgentBuild> {
  const dir = join(repoRoot(), 'vm', 'agent');
  const out = join(cacheRoot(), 'agent', arch);
  const build = { agent: join(out, 'mprog-agent'), bpftoolZygote: join(out, 'bpftool-zygote.so') };
  const outputs = [build.agent, build.bpftoolZygote];
  // What a damaged output is, is removed: build.mjs then makes it again.
  for (const [file, why] of damage(out, outputs)) {
    tellDamaged(file, why);
    rmSync(file, { recursive: true, force: true });
  }
  // build.mjs decides whether its inputs changed, and says so in one line before it compiles.
  await runTool(process.execPath, [join(dir, 'build.mjs'), '--out', dirname(out), arch], {
    what: `building the agent (${arch})`,
    tree: true,
    lines: 30,
    onLine: (line) => {
      const why = /^build\.mjs: compiling \S+ \((.+)\)$/.exec(line)?.[1];
      if (why) notice(`agent build: compiling the agent (${arch}) into ${out}: ${why}`);
    },
  });
  const left = damage(out, outputs);
  if (left.length > 0)
    throw new Unusable(`the agent build (${arch}) does not match its stamp after building it: ${left.map(([f, why]) => `${f} ${why}`).join('; ')}`);
  return build;
}

/** The outputs that do not stand as the stamp recorded them, with why (none when there is no stamp yet: build.mjs makes one). */
function damage(out: string, outputs: string[]): [string, string][] {
  let stamp: string;
  try {
    stamp = readFileSync(join(out, '.stamp'), 'utf8');
  } catch {
    return [];
  }
  // `sha256 <hex> <name>` lines after the inputs' stamp (build.mjs's stampText).
  const recorded = new Map(
    stamp
      .split('\n')
      .slice(1)
      .map((line) => line.split(' '))
      .filter((w) => w.length === 3 && w[0] === 'sha256')
      .map((w) => [join(out, w[2]!), w[1]!]),
  );
  const found: [string, string][] = [];
  for (const file of outputs) {
    const want = recorded.get(file);
    if (want === undefined) continue; // a stamp of an older build.mjs: it builds again
    let data: Buffer;
    try {
      data = readFileSync(file);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT') found.push([file, `cannot be read (${code ?? String(err)})`]);
      continue; // missing: build.mjs builds it
    }
    if (createHash('sha256').update(data).digest('hex') !== want)
      found.push([file, 'is damaged (its SHA-256 is not the one recorded when it was built)']);
  }
  return found;
}

const told = new Set<string>();

/** Says once per file and process that an agent build output is damaged and is built again. */
function tellDamaged(file: string, why: string): void {
  if (told.has(file)) return;
  told.add(file);
  notice(`agent build: ${file} ${why}; building it again`);
}
