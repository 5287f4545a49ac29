// A stand-in for kernel.org on 127.0.0.1 (node:http): releases.json, vX.x/ directories with
// their tarballs and sha256sums.asc (clearsigned by a test key when one is given), and
// torvalds/t/ snapshots. What it serves is set per test; every request is counted, so a test
// can tell a download from a cache hit. Point mprog at it with MPROG_KERNEL_ORG=server.url.

import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeKernelOrg {
  url: string;
  /** Path (`/v6.x/linux-6.6.87.tar.xz`) → bytes served; absent: 404. */
  files: Map<string, Buffer>;
  /** Requests by path. */
  requests: Map<string, number>;
  close(): Promise<void>;
}

export async function fakeKernelOrg(): Promise<FakeKernelOrg> {
  const files = new Map<string, Buffer>();
  const requests = new Map<string, number>();
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    requests.set(path, (requests.get(path) ?? 0) + 1);
    const body = files.get(path);
    if (!body) {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(200, { 'content-length': body.length }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    files,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** A sha256sums.asc body (unsigned) naming `files` (name → bytes or a hash). */
export function sumsText(files: Record<string, Buffer | string>): string {
  return `${Object.entries(files)
    .map(([name, b]) => `${typeof b === 'string' ? b : sha256(b)}  ${name}`)
    .join('\n')}\n`;
}

/** releases.json as kernel.org writes it (the fields mprog reads, and a few it does not). */
export function releasesJson(releases: { version: string; moniker: string; source?: string | null }[]): Buffer {
  return Buffer.from(
    JSON.stringify({
      latest_stable: { version: releases.find((r) => r.moniker === 'stable')?.version ?? null },
      releases: releases.map((r) => ({ iseol: false, pgp: null, released: { isodate: '2026-12-01' }, source: null, ...r })),
    }),
  );
}
