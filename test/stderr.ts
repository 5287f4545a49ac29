// What a command said on stderr besides its progress lines (the QEMU accelerator and why, a
// Debian package being downloaded with its size, a guest's first boot before it is saved, the
// agent's build when its sources changed): for the tests that expect exact notices, since progress depends on what
// the cache held.

export const ACCEL_NOTICE = /^mprog: QEMU accelerator for (x86_64|arm64) guests: (TCG|KVM) \(.+\)$/;
const PROGRESS = [
  ACCEL_NOTICE,
  /^mprog: private apt: downloading \S+( \([\d.]+ MiB\))?$/,
  /^mprog: (x86_64|arm64) guest of \S+: first boot, then saved so that later guests resume it$/,
  /^mprog: agent build: compiling the agent \((x86_64|arm64)\) into \S+: .+$/,
];

export function besidesProgress(stderr: string): string {
  return stderr
    .split('\n')
    .filter((l) => !PROGRESS.some((p) => p.test(l)))
    .join('\n');
}
