// What a divergence on a kernel the model was never checked against means: the profile records
// the newest release it was checked on (emulator/profiles.ts, `checked`); a divergence on a newer
// release may be the kernel having moved (a stable backport, a mainline change) rather than
// mprog being wrong, and every report says so beside the divergence.

import { type Profile, checkStanding, findProfile, newestCheck } from '../../emulator/profiles.js';
import type { ResultRecord } from './records.js';

/** The note for one release compared with one profile, or null when the profile was checked up to it. */
export function modelCheckNote(profile: Profile, release: string): string | null {
  const standing = checkStanding(profile, release);
  if (standing === 'newer') {
    const last = newestCheck(profile)!;
    return `this kernel (${release}) is newer than the model's last check of profile ${profile.name} (${last.release}, ${last.where}); it may have changed behaviour`;
  }
  if (standing === 'never') {
    return `the model's profile ${profile.name} was never checked on a real kernel of its range; this kernel (${release}) may behave otherwise than it says`;
  }
  return null;
}

/**
 * The notes a pair with divergences carries: one per release of its record (mprog diff records
 * "BASE vs KERNEL") beyond its profile's checks. None for a pair without divergences.
 */
export function modelCheckNotes(r: ResultRecord): string[] {
  if (r.divergences.length === 0 || !r.profile || !r.release) return [];
  const profile = findProfile(r.profile);
  if (!profile) return [];
  const notes = r.release.split(' vs ').map((release) => modelCheckNote(profile, release.trim()));
  return [...new Set(notes.filter((n): n is string => n !== null))];
}
