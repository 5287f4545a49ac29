// A private apt: its own sources, lists and package cache under <cache>/apt, verified with the
// system's Debian keyring, never touching the system's apt state. Used to fetch exact Debian
// kernels, busybox and bpftool for both architectures on any Debian host.

import { needNetwork, offline } from '../runtime/network.js';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { compareDebVersions } from './deb-version.js';
import { cacheRoot, scratchFor } from '../runtime/paths.js';
import { ToolError, runTool } from '../runtime/run-tool.js';
import { discard, notAFile, readCachedFile, sha256 } from '../runtime/cache-products.js';
import { Unusable } from '../../contract/errors.js';
import { notice } from '../runtime/notices.js';

export const SUITES = ['bookworm', 'bookworm-backports', 'trixie', 'trixie-backports', 'sid', 'experimental'] as const;

const MIRROR = process.env['MPROG_DEBIAN_MIRROR'] ?? 'http://deb.debian.org/debian';
const KEYRING = '/usr/share/keyrings/debian-archive-keyring.gpg';
/** Kernel versions rotate on the mirror: lists older than this are refreshed before resolving. */
const LISTS_MAX_AGE_MS = 12 * 3600_000;

/** How long to wait for another process's apt-get (update) on the same private apt. */
const LOCK_WAIT_MS = 300_000;
let aptQueue: Promise<unknown> = Promise.resolve();
/** The list refresh of each private apt directory in this process. */
const updates = new Map<string, Promise<void>>();

/** One version of one package as the mirror offers it. */
export interface Available {
  name: string;
  debArch: string;
  version: string;
  suite: string;
}

export class PrivateApt {
  readonly dir: string;

  constructor(dir = join(cacheRoot(), 'apt')) {
    this.dir = dir;
  }

  private get conf(): string {
    return join(this.dir, 'etc', 'apt.conf');
  }

  /**
   * Writes the private configuration where it differs from this file's (apt rebuilds its package
   * cache whenever sources.list is newer than it, so unchanged files are left alone).
   */
  private layout(): void {
    const d = (p: string) => {
      const full = join(this.dir, p);
      mkdirSync(full, { recursive: true });
      return full;
    };
    if (!existsSync(KEYRING)) {
      throw new Unusable(`private apt: ${KEYRING} is missing: install the Debian package debian-archive-keyring (scripts/setup.sh)`, {
        file: KEYRING,
      });
    }
    const etc = d('etc');
    d('etc/apt.conf.d');
    d('etc/preferences.d');
    d('etc/sources.list.d');
    d('state/lists/partial');
    d('cache/archives/partial');
    d('debs');
    const status = join(this.dir, 'state', 'status');
    for (const file of [status, this.stamp]) {
      const wrong = notAFile(file);
      if (wrong && wrong !== 'is missing') discard(file, wrong);
    }
    if (!existsSync(status)) writeFileSync(status, '');
    const sources = SUITES.map((s) => `deb [signed-by=${KEYRING}] ${MIRROR} ${s} main`).join('\n') + '\n';
    writeIfChanged(join(etc, 'sources.list'), sources);
    writeIfChanged(
      this.conf,
      [
        `Dir::Etc "${etc}/";`,
        `Dir::Etc::main "apt.conf";`,
        `Dir::Etc::parts "apt.conf.d";`,
        `Dir::Etc::sourcelist "sources.list";`,
        `Dir::Etc::sourceparts "sources.list.d";`,
        `Dir::Etc::preferences "preferences";`,
        `Dir::Etc::preferencesparts "preferences.d";`,
        `Dir::State "${join(this.dir, 'state')}/";`,
        `Dir::State::status "${status}";`,
        `Dir::Cache "${join(this.dir, 'cache')}/";`,
        `APT::Architecture "amd64";`,
        `APT::Architectures { "amd64"; "arm64"; };`,
        `Acquire::Languages "none";`,
        // Keep the package lists compressed: uncompressed they take ~350 MB for six suites and two arches.
        `Acquire::GzipIndexes "true";`,
        // apt-cache needs only the binary package cache; the source-cache copy would double it.
        `Dir::Cache::srcpkgcache "";`,
        // Our own cache directories are not readable by the _apt sandbox user.
        `APT::Sandbox::User "root";`,
        `Acquire::Retries "3";`,
        // Signatures are still checked; expiry is not, because CI mirrors are often snapshots
        // whose sid/experimental Release files are past their Valid-Until.
        `Acquire::Check-Valid-Until "false";`,
        '',
      ].join('\n'),
    );
  }

  /** One apt command at a time per process, and a wait while another process holds apt's lock. */
  private apt(cmd: 'apt-get' | 'apt-cache', args: string[], opts: { cwd?: string; onLine?: (line: string) => void } = {}): Promise<string> {
    const run = aptQueue.then(() => this.aptNow(cmd, args, opts));
    aptQueue = run.catch(() => undefined);
    return run;
  }

  private async aptNow(
    cmd: 'apt-get' | 'apt-cache',
    args: string[],
    { cwd, onLine }: { cwd?: string; onLine?: (line: string) => void },
  ): Promise<string> {
    const started = Date.now();
    for (;;) {
      try {
        return await runTool(cmd, args, {
          what: `private apt: ${cmd} ${args.join(' ')}`,
          tree: true,
          env: { APT_CONFIG: this.conf, LC_ALL: 'C' },
          cwd: cwd ?? this.dir,
          lines: 6,
          ...(onLine && { onLine }),
        });
      } catch (err) {
        if (!(err instanceof ToolError && /Could not get lock/.test(err.output) && Date.now() - started < LOCK_WAIT_MS)) throw err;
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    }
  }

  /** Written after each successful update: apt dates the list files by the mirror's clock, not ours. */
  private get stamp(): string {
    return join(this.dir, 'state', 'updated');
  }

  /** Fetches the package lists when they are missing or stale (or when forced); once per process and directory. */
  update(force = false): Promise<void> {
    const known = updates.get(this.dir);
    if (known && !force) return known;
    const run = this.refresh(force);
    updates.set(this.dir, run);
    run.catch(() => updates.delete(this.dir));
    return run;
  }

  private async refresh(force: boolean): Promise<void> {
    this.layout();
    const age = existsSync(this.stamp) ? Date.now() - statSync(this.stamp).mtimeMs : Infinity;
    if (!force && age <= LISTS_MAX_AGE_MS) return;
    if (age === Infinity || force) needNetwork(`Debian's package lists (${MIRROR})`);
    if (offline()) {
      notice(`private apt: offline: the package lists are ${Math.round(age / 3600_000)} h old: using them as they are`);
      return;
    }
    // The first fetch is some 60 MB of lists (six suites, two arches; 61 MB in December 2026): say so, and how far it is.
    if (age === Infinity) notice(`private apt: fetching Debian's package lists from ${MIRROR} into ${this.dir} (once, then every 12 h)`);
    try {
      await this.apt('apt-get', ['update', '-q', '-o', 'APT::Update::Error-Mode=any', '-o', 'APT::Status-Fd=1'], { onLine: listsProgress() });
    } catch (err) {
      // Offline with lists already here: they still say what the cached packages are; a package
      // they name that is not cached fails on its own download, with its name.
      if (age === Infinity || force || !(err instanceof ToolError)) throw err;
      notice(`private apt: the package lists are ${Math.round(age / 3600_000)} h old and ${MIRROR} cannot be reached: using them as they are`);
      return;
    }
    writeFileSync(this.stamp, `${new Date().toISOString()}\n`);
  }

  /** Names of packages (any architecture) matching an extended regex. */
  async search(regex: string): Promise<string[]> {
    await this.update();
    const out = await this.apt('apt-cache', ['search', '--names-only', regex]);
    return out
      .split('\n')
      .map((l) => l.split(' - ')[0]!.trim())
      .filter((n) => n.length > 0);
  }

  /** Every version of each of `names` for `debArch` on the mirror, newest first (one apt-cache call). */
  async available(names: string[], debArch: string): Promise<Available[]> {
    if (names.length === 0) return [];
    await this.update();
    return parseMadison(await this.apt('apt-cache', ['madison', ...names.map((n) => `${n}:${debArch}`)]), debArch);
  }

  /** The raw `apt-cache show` record of one exact package version. */
  async show(p: Available): Promise<string> {
    await this.update();
    const out = await this.apt('apt-cache', ['show', `${p.name}:${p.debArch}=${p.version}`]);
    return out.split('\n\n')[0]!;
  }

  /**
   * One exact package version as a .deb whose SHA-256 is the one apt's signed lists give: a
   * cached file that does not match (a download cut short) is fetched again. Downloads go to a
   * scratch directory and are renamed into place only once they match.
   */
  async download(p: Available): Promise<string> {
    await this.update();
    const debs = join(this.dir, 'debs');
    const spec = `${p.name}:${p.debArch}=${p.version}`;
    const record = await this.show(p);
    const want = /^SHA256: ([0-9a-f]{64})$/m.exec(record)?.[1];
    if (!want) throw new Unusable(`private apt: apt-cache show ${spec} gives no SHA256`);
    const already = this.cachedDeb(debs, p);
    // Anything else under that name (a cut-short file, a directory) is said once, removed and fetched again.
    if (already && readCachedFile(already, (data) => (sha256(data) === want ? null : 'does not match the SHA256 in the Debian package lists')))
      return already;
    needNetwork(`${spec} (a Debian package)`);
    const size = Number(/^Size: (\d+)$/m.exec(record)?.[1] ?? 0);
    notice(`private apt: downloading ${spec}${size ? ` (${(size / (1024 * 1024)).toFixed(1)} MiB)` : ''}`);
    const scratch = scratchFor(join(debs, 'partial'));
    mkdirSync(scratch, { recursive: true });
    try {
      // A 404 usually means the lists are older than the mirror (versions rotate): refresh once and retry.
      await this.apt('apt-get', ['download', '-q', spec], { cwd: scratch }).catch(async () => {
        await this.update(true);
        await this.apt('apt-get', ['download', '-q', spec], { cwd: scratch });
      });
      const got = this.cachedDeb(scratch, p);
      if (!got) throw new Unusable(`private apt: downloaded ${spec} but found no .deb in ${scratch}`, { file: scratch });
      if (sha256(readFileSync(got)) !== want)
        throw new Unusable(`private apt: the download of ${spec} does not match the SHA256 in the package lists`, { file: got });
      const file = join(debs, got.slice(scratch.length + 1));
      renameSync(got, file);
      return file;
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  }

  /** The .deb of `p` in `dir`, if there is one. */
  private cachedDeb(dir: string, p: Available): string | undefined {
    // apt names files name_version_arch.deb with ':' in the version escaped as %3a.
    const stem = `${p.name}_${p.version.replace(/:/g, '%3a')}_`;
    const file = [p.debArch, 'all'].map((arch) => `${stem}${arch}.deb`).find((f) => readdirSync(dir).includes(f));
    return file === undefined ? undefined : join(dir, file);
  }
}

function writeIfChanged(file: string, text: string): void {
  if (readCachedFile(file)?.toString('utf8') !== text) writeFileSync(file, text);
}

/** First alternative of every dependency in a Depends/Pre-Depends field. */
/** How often, at most, a list fetch says how far it is. */
const LISTS_PROGRESS_MS = 3000;

/**
 * What `apt-get update -q -o APT::Status-Fd=1` prints, as notices: every few seconds how far it
 * is (apt's own `dlstatus:` percentage and file count), and apt's total at the end.
 */
export function listsProgress(): (line: string) => void {
  let said = Date.now();
  return (line) => {
    const status = /^dlstatus:\d+:([\d.]+):Retrieving file (\d+ of \d+)$/.exec(line);
    if (status) {
      if (Date.now() - said < LISTS_PROGRESS_MS) return;
      said = Date.now();
      notice(`private apt: package lists: ${Math.floor(Number(status[1]))}% (file ${status[2]})`);
      return;
    }
    const fetched = /^Fetched (.+)$/.exec(line);
    if (fetched) notice(`private apt: package lists: fetched ${fetched[1]}`);
  };
}

export function dependsOf(record: string): string[] {
  const names: string[] = [];
  for (const field of ['Pre-Depends', 'Depends']) {
    const m = new RegExp(`^${field}: (.*)$`, 'm').exec(record);
    if (!m) continue;
    for (const dep of m[1]!.split(',')) {
      const first = dep
        .split('|')[0]!
        .trim()
        .split(/[\s(:]/)[0];
      if (first) names.push(first);
    }
  }
  return names;
}

/** `apt-cache madison` output: the packages of `debArch` in main, newest version first. */
export function parseMadison(out: string, debArch: string): Available[] {
  const found: Available[] = [];
  for (const line of out.split('\n')) {
    const [name, version, where] = line.split('|').map((f) => f.trim());
    // "http://deb.debian.org/debian trixie/main arm64 Packages"
    const m = /\s(\S+)\/main\s+(\S+)\s+Packages$/.exec(where ?? '');
    if (name && version && m && m[2] === debArch) {
      found.push({ name: name.replace(/:.*$/, ''), debArch, version, suite: m[1]! });
    }
  }
  return found.sort((a, b) => compareDebVersions(b.version, a.version));
}
