// kernel.org releases as kernel sources: `mprog kernel build kernel.org:6.6` (the newest 6.6.y),
// `kernel.org:6.6.87` (exactly that release), `kernel.org:mainline` (Linus's newest, a release
// candidate too). Which release is newest comes from kernel.org's releases.json (the current
// mainline, stable and longterm releases) or, for a series it no longer lists, from the release
// directory's sha256sums.asc (which names every tarball of v6.x/). The tarball is downloaded once
// into .cache/kernel-org/, checked against the SHA-256 that sha256sums.asc publishes for it (its
// clearsigned PGP signature checked with gpgv when MPROG_KERNEL_ORG_KEYRING names a keyring, and
// said not checked otherwise), and then built like any tarball (source.ts).
//
// Where kernel.org is: MPROG_KERNEL_ORG=URL (tests: a local server) stands for
// https://cdn.kernel.org/pub/linux/kernel (tarballs and sums at URL/vX.x/), and its
// URL/releases.json for https://www.kernel.org/releases.json, URL/torvalds/t/ for
// git.kernel.org's snapshots of release candidates (which have no published sums).

import { needNetwork } from '../runtime/network.js';
import { createHash } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { once } from 'node:events';
import { KernelBuildError } from './build-steps.js';
import { notice } from '../runtime/notices.js';
import { cacheRoot } from '../runtime/paths.js';
import { cachedDir } from '../runtime/cache-products.js';
import { findOnPath } from '../runtime/lifetime.js';
import { ToolError, runTool } from '../runtime/run-tool.js';

/** `kernel.org:SPEC` as `mprog kernel build` takes it. */
export const KERNEL_ORG_SOURCE = /^kernel\.org:(.+)$/;
/** What SPEC may be: mainline, a series X.Y, a release X.Y.Z, a release candidate X.Y-rcN. */
export const KERNEL_ORG_SPEC = /^(mainline|\d+\.\d+(?:\.\d+)?(?:-rc\d+)?)$/;

export interface KernelOrgPlaces {
  /** Where vX.x/ directories are. */
  base: string;
  /** releases.json. */
  releases: string;
  /** Where git.kernel.org's release-candidate snapshots are (torvalds/t/). */
  snapshots: string;
}

export function kernelOrgPlaces(): KernelOrgPlaces {
  const env = process.env['MPROG_KERNEL_ORG']?.replace(/\/+$/, '');
  if (env) return { base: env, releases: `${env}/releases.json`, snapshots: `${env}/torvalds/t` };
  return {
    base: 'https://cdn.kernel.org/pub/linux/kernel',
    releases: 'https://www.kernel.org/releases.json',
    snapshots: 'https://git.kernel.org/torvalds/t',
  };
}

/** One release, resolved: what to download and what checks it. */
export interface KernelOrgRelease {
  /** `6.6.87`, `6.6` (the .0 release), `7.4-rc3`. */
  release: string;
  /** releases.json's moniker (mainline, stable, longterm), when it lists the release. */
  moniker: string | null;
  /** The tarball's file name and URL. */
  file: string;
  url: string;
  /** The directory's sha256sums.asc; null for a release candidate (git.kernel.org publishes none). */
  sums: string | null;
}

/** A tarball in the cache, checked. */
export interface KernelOrgTarball {
  path: string;
  sha256: string;
  /** How it was checked, in words, for the build's description. */
  checked: string;
}

interface TarballManifest {
  release: string;
  file: string;
  url: string;
  published: string | null;
  checked: string;
}

/** Bytes of a kernel tarball at most (a 7.x tar.xz is ~150 MiB). */
const MAX_TARBALL = 2 * 1024 * 1024 * 1024;
/** Bytes of releases.json and sha256sums.asc at most (v6.x's sums: ~300 KiB). */
const MAX_INDEX = 16 * 1024 * 1024;
/** A download that receives nothing for this long is given up. */
const IDLE_MS = 60_000;

function fail(message: string, cause?: unknown): never {
  throw new KernelBuildError(`kernel.org: ${message}`, cause === undefined ? {} : { cause });
}

/** "6.6.0" is the file linux-6.6.tar.xz: kernel.org names .0 releases without the sublevel. */
function canonical(release: string): string {
  return release.replace(/^(\d+\.\d+)\.0$/, '$1');
}

function isCandidate(release: string): boolean {
  return /-rc\d+$/.test(release);
}

/** 6.6.87 → [6, 6, 87]; 7.4-rc3 → [7, 4, -1, 3] (before 7.4). */
function releaseKey(release: string): number[] {
  const m = /^(\d+)\.(\d+)(?:\.(\d+))?(?:-rc(\d+))?$/.exec(release);
  if (!m) return [];
  return m[4] !== undefined ? [Number(m[1]), Number(m[2]), -1, Number(m[4])] : [Number(m[1]), Number(m[2]), Number(m[3] ?? 0), 0];
}

export function compareKernelOrgReleases(a: string, b: string): number {
  const x = releaseKey(a);
  const y = releaseKey(b);
  for (let i = 0; i < Math.max(x.length, y.length); i++) if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) - (y[i] ?? 0);
  return 0;
}

function seriesOf(release: string): string {
  return /^(\d+\.\d+)/.exec(release)![1]!;
}

function directory(places: KernelOrgPlaces, release: string): string {
  return `${places.base}/v${release.split('.')[0]}.x`;
}

function releaseAt(places: KernelOrgPlaces, release: string, moniker: string | null, source?: string): KernelOrgRelease {
  const r = canonical(release);
  if (isCandidate(r)) {
    const file = `linux-${r}.tar.gz`;
    return { release: r, moniker, file, url: source ?? `${places.snapshots}/${file}`, sums: null };
  }
  const file = `linux-${r}.tar.xz`;
  const dir = directory(places, r);
  return { release: r, moniker, file, url: `${dir}/${file}`, sums: `${dir}/sha256sums.asc` };
}

async function get(url: string, what: string): Promise<Response> {
  needNetwork(`${what} (${url})`);
  let response: Response;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(IDLE_MS) });
  } catch (err) {
    const why = err instanceof Error ? ((err.cause as Error | undefined)?.message ?? err.message) : String(err);
    fail(`cannot fetch ${what} (${url}): ${why}`, err);
  }
  if (!response.ok) fail(`cannot fetch ${what}: HTTP ${response.status} ${response.statusText} from ${url}`);
  return response;
}

async function getText(url: string, what: string): Promise<string> {
  const response = await get(url, what);
  const body = Buffer.from(await response.arrayBuffer());
  if (body.length > MAX_INDEX) fail(`${what} (${url}) is larger than ${MAX_INDEX} bytes: not kernel.org's`);
  return body.toString('utf8');
}

interface ReleasesJson {
  releases: { version: string; moniker: string; source?: string | null }[];
}

async function releasesJson(places: KernelOrgPlaces): Promise<ReleasesJson> {
  const text = await getText(places.releases, 'releases.json');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    fail(`releases.json (${places.releases}) is not valid JSON`, err);
  }
  const releases = (value as ReleasesJson | null)?.releases;
  if (!Array.isArray(releases) || releases.some((r) => typeof r?.version !== 'string' || typeof r?.moniker !== 'string')) {
    fail(`releases.json (${places.releases}) has no list of releases with version and moniker`);
  }
  return { releases };
}

/** The `SHA-256  FILE` lines of a sums file's (signed) text. */
export function parseSums(text: string): Map<string, string> {
  const sums = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^([0-9a-f]{64})\s+\*?(\S+)\s*$/.exec(line);
    if (m) sums.set(m[2]!, m[1]!);
  }
  return sums;
}

/** The text a clearsigned message signs (as it is, without checking the signature). */
function signedText(text: string): string {
  const begin = text.indexOf('-----BEGIN PGP SIGNED MESSAGE-----');
  if (begin === -1) return text;
  const body = text.slice(text.indexOf('\n\n', begin) + 2);
  const end = body.indexOf('-----BEGIN PGP SIGNATURE-----');
  return (end === -1 ? body : body.slice(0, end)).replace(/^- /gm, '');
}

let toldUnsigned = false;

/**
 * A directory's sums, with how their signature was checked: by gpgv against the keyring
 * MPROG_KERNEL_ORG_KEYRING names (only the text it verified is used), or not at all (said once).
 */
async function fetchSums(url: string): Promise<{ sums: Map<string, string>; checked: string }> {
  const text = await getText(url, 'sha256sums.asc');
  const keyring = process.env['MPROG_KERNEL_ORG_KEYRING'];
  if (!keyring) {
    if (!toldUnsigned) {
      toldUnsigned = true;
      notice(
        "kernel.org: the PGP signature of sha256sums.asc was NOT checked (no keyring: set MPROG_KERNEL_ORG_KEYRING to a keyring file holding kernel.org's checksum autosigner key, and install gpgv, to check it)",
      );
    }
    return { sums: parseSums(signedText(text)), checked: 'signature not checked' };
  }
  if (!existsSync(keyring)) fail(`MPROG_KERNEL_ORG_KEYRING=${keyring}: no such file`);
  if (findOnPath('gpgv') === null) fail('MPROG_KERNEL_ORG_KEYRING is set but gpgv is not installed (Debian package gpgv)');
  let verified: string;
  try {
    verified = await runTool('gpgv', ['--keyring', keyring, '--output', '-', '-'], { what: `gpgv of ${url}`, input: text });
  } catch (err) {
    if (!(err instanceof ToolError)) throw err;
    fail(`the PGP signature of ${url} does not verify with the keyring ${keyring}: ${err.message}`, err);
  }
  return { sums: parseSums(verified), checked: `signature checked with ${keyring}` };
}

/** The newest release of a series the sums file lists (every tarball of the directory). */
async function newestListed(places: KernelOrgPlaces, series: string): Promise<string | null> {
  const { sums } = await fetchSums(`${directory(places, series)}/sha256sums.asc`);
  const releases = [...sums.keys()]
    .map((f) => /^linux-(\d+\.\d+(?:\.\d+)?)\.tar\.xz$/.exec(f)?.[1])
    .filter((r): r is string => r !== undefined && seriesOf(r) === series);
  return releases.sort(compareKernelOrgReleases).at(-1) ?? null;
}

/** The newest release of `series` already in the cache (when kernel.org cannot be reached). */
function newestCached(series: string): string | null {
  const dir = join(cacheRoot(), 'kernel-org');
  if (!existsSync(dir)) return null;
  const releases = readdirSync(dir)
    .map((d) => /^linux-(\d+\.\d+(?:\.\d+)?)$/.exec(d)?.[1])
    .filter((r): r is string => r !== undefined && seriesOf(r) === series && existsSync(join(dir, `linux-${r}`, 'source.json')));
  return releases.sort(compareKernelOrgReleases).at(-1) ?? null;
}

/** SPEC (mainline, X.Y, X.Y.Z, X.Y-rcN) as the release it names today. */
export async function resolveKernelOrg(spec: string, places = kernelOrgPlaces()): Promise<KernelOrgRelease> {
  if (!KERNEL_ORG_SPEC.test(spec))
    fail(`${spec}: not a release (give mainline, a series such as 6.6, a release such as 6.6.87, or a release candidate such as 7.4-rc3)`);
  if (spec === 'mainline') {
    const { releases } = await releasesJson(places);
    const mainline = releases.find((r) => r.moniker === 'mainline');
    if (!mainline || !KERNEL_ORG_SPEC.test(mainline.version)) fail(`releases.json (${places.releases}) names no mainline release`);
    const source = isCandidate(mainline.version) && process.env['MPROG_KERNEL_ORG'] === undefined ? (mainline.source ?? undefined) : undefined;
    return releaseAt(places, mainline.version, 'mainline', source);
  }
  if (/^\d+\.\d+$/.test(spec)) {
    // A series: releases.json lists the newest of each maintained one; an older series only its sums file.
    let listed: ReleasesJson['releases'][number] | undefined;
    try {
      const { releases } = await releasesJson(places);
      listed = releases
        .filter((r) => r.moniker !== 'mainline' && !isCandidate(r.version) && releaseKey(r.version).length && seriesOf(r.version) === spec)
        .sort((a, b) => compareKernelOrgReleases(b.version, a.version))[0];
      if (listed) return releaseAt(places, listed.version, listed.moniker);
      const newest = await newestListed(places, spec);
      if (newest) return releaseAt(places, newest, null);
    } catch (err) {
      if (!(err instanceof KernelBuildError)) throw err;
      const cached = newestCached(spec);
      if (!cached) throw err;
      notice(`${err.message}; using ${cached}, the newest ${spec} release in the cache`);
      return releaseAt(places, cached, null);
    }
    fail(`kernel.org has no ${spec} release (neither releases.json nor ${directory(places, spec)}/sha256sums.asc names one)`);
  }
  return releaseAt(places, spec, null);
}

function tarballDir(release: string): string {
  return join(cacheRoot(), 'kernel-org', `linux-${release}`);
}

/** The published SHA-256 of a release: the cache's record of it, or the sums file's (null for a release candidate). */
export async function publishedSha256(r: KernelOrgRelease): Promise<{ sha256: string | null; checked: string }> {
  const manifest = join(tarballDir(r.release), 'source.json');
  if (existsSync(manifest)) {
    try {
      const saved = JSON.parse(readFileSync(manifest, 'utf8')) as TarballManifest;
      if (saved.release === r.release && typeof saved.published === 'string') return { sha256: saved.published, checked: saved.checked };
    } catch {
      // damaged: the sums file says it again (and tarball() makes the cache entry again)
    }
  }
  if (r.sums === null) return { sha256: null, checked: 'no published SHA-256 (a git.kernel.org snapshot)' };
  const { sums, checked } = await fetchSums(r.sums);
  const sha256 = sums.get(r.file);
  if (!sha256) fail(`${r.sums} lists no ${r.file}: kernel.org has no ${r.release} release`);
  return { sha256, checked: `SHA-256 checked against ${r.sums.replace(/^.*\/(v\d+\.x\/)/, '$1')}; ${checked}` };
}

function mib(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}

/** Streams `url` into `file`, saying how far it is every few seconds; returns its SHA-256. */
async function download(url: string, file: string, what: string): Promise<string> {
  needNetwork(`${what} (${url})`);
  const controller = new AbortController();
  let idle = setTimeout(() => controller.abort(), IDLE_MS);
  let response: Response;
  try {
    response = await fetch(url, { signal: controller.signal });
  } catch (err) {
    clearTimeout(idle);
    const why = err instanceof Error ? ((err.cause as Error | undefined)?.message ?? err.message) : String(err);
    fail(`cannot download ${what} (${url}): ${why}`, err);
  }
  if (!response.ok || !response.body) {
    clearTimeout(idle);
    fail(`cannot download ${what}: HTTP ${response.status} ${response.statusText} from ${url}`);
  }
  const length = Number(response.headers.get('content-length') ?? Number.NaN);
  const total = Number.isFinite(length) ? ` of ${mib(length)}` : '';
  notice(`kernel.org: downloading ${what}${total} from ${url}`);
  const hash = createHash('sha256');
  const out = createWriteStream(file);
  let received = 0;
  let said = Date.now();
  try {
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      clearTimeout(idle);
      idle = setTimeout(() => controller.abort(), IDLE_MS);
      received += chunk.length;
      if (received > MAX_TARBALL) fail(`${what} (${url}) is larger than ${mib(MAX_TARBALL)}: not a kernel tarball`);
      hash.update(chunk);
      if (!out.write(chunk)) await once(out, 'drain');
      if (Date.now() - said >= 5000) {
        said = Date.now();
        notice(
          `kernel.org: downloading ${what}: ${mib(received)}${total}${Number.isFinite(length) ? ` (${Math.floor((100 * received) / length)}%)` : ''}`,
        );
      }
    }
  } catch (err) {
    if (err instanceof KernelBuildError) throw err;
    const why = controller.signal.aborted ? `nothing received for ${IDLE_MS / 1000} s` : err instanceof Error ? err.message : String(err);
    fail(`the download of ${what} (${url}) broke off after ${mib(received)}${total}: ${why}`, err);
  } finally {
    clearTimeout(idle);
    out.end();
    await once(out, 'close');
  }
  if (Number.isFinite(length) && received !== length) fail(`the download of ${what} (${url}) ended after ${received} of ${length} bytes`);
  notice(`kernel.org: downloaded ${what} (${mib(received)})`);
  return hash.digest('hex');
}

/**
 * The release's tarball in the cache (downloaded once), checked: against the published SHA-256
 * when it is downloaded, against the cache's record of it on every later use.
 */
export async function kernelOrgTarball(r: KernelOrgRelease): Promise<KernelOrgTarball> {
  const dir = tarballDir(r.release);
  const saved = await cachedDir<TarballManifest>(dir, 'source.json', async (tmp) => {
    const { sha256: published, checked } = await publishedSha256(r);
    mkdirSync(tmp, { recursive: true });
    const got = await download(r.url, join(tmp, r.file), r.file);
    if (published !== null && got !== published) {
      fail(
        `${r.file} as downloaded from ${r.url} is damaged: its SHA-256 is ${got}, ${r.sums} says ${published} (nothing kept; run again to download it again)`,
      );
    }
    const how = published === null ? `SHA-256 ${got.slice(0, 16)}…, not checked: ${checked}` : checked;
    writeFileSync(join(tmp, 'url'), `${r.url}\n`);
    return { manifest: { release: r.release, file: r.file, url: r.url, published: published ?? got, checked: how }, files: [r.file] };
  });
  return { path: join(dir, saved.file), sha256: saved.published ?? '', checked: saved.checked };
}
