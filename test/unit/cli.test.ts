// The command line as a user meets it: --version, every command's --help and usage mistakes
// (`mprog kernels` against the real Debian mirror is in test/qemu/kernels-command.test.ts).

import { readFileSync } from 'node:fs';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';

const mprog = (...args: string[]) => execa('node', ['bin/mprog.js', ...args], { reject: false, env: { NO_COLOR: '1' } });
const COMMANDS = ['replay', 'conform', 'merge', 'fuzz', 'kernels', 'kernel', 'diff'];

describe('mprog --version and --help', () => {
  it('takes the short forms and aliases of the ecosystem: help, -V, -h, -t/-j, aarch64', async () => {
    expect((await mprog('-V')).stdout).toMatch(/^mprog \d+\.\d+\.\d+$/);
    expect((await mprog('help')).stdout).toMatch(/^usage: mprog <command>/);
    expect((await mprog('help', 'replay')).stdout).toMatch(/^usage: mprog replay/);
    expect((await mprog('replay', '-h')).stdout).toMatch(/short forms: -t --target, -j --json/);
    const r = await mprog('replay', '-t', 'emulator', '-j', 'corpus/tcx/revision.json');
    expect(r.exitCode).toBe(0);
    expect(JSON.parse(r.stdout)[0].target).toMatch(/^emulator/);
    const arm = await mprog('replay', '-t', 'qemu:no-such-kernel-here:aarch64', 'corpus/tcx/revision.json');
    expect(arm.stderr).not.toMatch(/expected qemu:KERNEL:ARCH/); // aarch64 is arm64: the kernel is what is wrong
  });

  it('prints the package version', async () => {
    const r = await mprog('--version');
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe(`mprog ${(JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version}`);
  });

  it('lists every command in the general help', async () => {
    const r = await mprog('--help');
    expect(r.exitCode).toBe(0);
    for (const c of COMMANDS) expect(r.stdout).toMatch(new RegExp(`^  ${c} `, 'm'));
  });

  it.each(COMMANDS)('%s --help prints its usage on stdout and exits 0', async (command) => {
    for (const flag of ['--help', '-h']) {
      const r = await mprog(command, flag);
      expect(r.exitCode).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`^usage: mprog ${command}\\b`));
      expect(r.stdout).toMatch(/^exit status: /m);
      expect(r.stderr).toBe('');
    }
  });

  it("answers a usage mistake in a few lines: what is wrong, the command's usage, where the rest is; exit 2", async () => {
    const r = await mprog('kernels', '--arch', 'sparc');
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(
      /^mprog kernels: --arch sparc: unknown architecture \(known: x86_64 \(amd64, x64\), arm64 \(aarch64\)\)\nusage: mprog kernels [^\n]+\n\(mprog kernels --help: every option\)$/,
    );
    const unknown = await mprog('kernls');
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr).toBe('mprog: unknown command "kernls" (mprog --help lists them)');
    const flag = await mprog('replay', '-x', 'a.json');
    expect(flag.stderr.split('\n')[0]).toBe("mprog replay: Unknown option '-x'");
    const extra = await mprog('kernels', 'debian-6.12');
    expect(extra.exitCode).toBe(2);
    expect(extra.stderr).toMatch(/kernels takes no arguments/);
  });
});

describe('mprog completion bash', () => {
  /** What bash completes for the words typed so far (the last one being completed), with the script sourced. */
  async function complete(...typed: string[]): Promise<string[]> {
    const script = (await mprog('completion', 'bash')).stdout;
    const words = ['mprog', ...typed].map((w) => `'${w}'`).join(' ');
    const r = await execa('bash', ['-c', `${script}\nCOMP_WORDS=(${words}); COMP_CWORD=${typed.length}; _mprog; printf '%s\\n' "\${COMPREPLY[@]}"`]);
    return r.stdout.split('\n').filter(Boolean);
  }

  it('completes commands, each command flags from its own help, and arches, targets and profiles', async () => {
    expect(await complete('co')).toEqual(['conform', 'completion']);
    expect(await complete('conform', '--re')).toEqual(['--resume']);
    expect(await complete('diff', '--')).toEqual(expect.arrayContaining(['--base', '--kernel', '--fuzz', '--verbose']));
    expect(await complete('diff', '--')).not.toContain('--resume');
    expect(await complete('conform', '--arch', '')).toEqual(['x86_64', 'arm64']);
    expect(await complete('replay', '-t', 'emulator:6.1')).toEqual(expect.arrayContaining(['emulator:6.1', 'emulator:6.12']));
    expect(await complete('fuzz', '--profile', '7')).toEqual(['7.2']);
    // A file name: left to bash's own (complete -o default).
    expect(await complete('replay', 'corp')).toEqual([]);
  });

  it('refuses another shell, exit 2', async () => {
    const r = await mprog('completion', 'zsh');
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/completion takes one shell, bash \(got zsh\)/);
  });
});
