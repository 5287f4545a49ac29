// Linux errno values (asm-generic, the same on x86_64 and arm64) and their names.

export const EPERM = 1;
export const ENOENT = 2;
export const ENXIO = 6;
export const E2BIG = 7;
export const EBADF = 9;
export const EAGAIN = 11;
export const ENOMEM = 12;
export const EACCES = 13;
export const EFAULT = 14;
export const EBUSY = 16;
export const EEXIST = 17;
export const ENODEV = 19;
export const EINVAL = 22;
export const ENOSPC = 28;
export const ERANGE = 34;
export const ENOLINK = 67;
export const EBADFD = 77;
export const EOPNOTSUPP = 95;
export const ESTALE = 116;

/** The errno names the project knows, by number. */
export const ERRNO_NAMES: Readonly<Record<number, string>> = {
  1: 'EPERM',
  2: 'ENOENT',
  3: 'ESRCH',
  4: 'EINTR',
  5: 'EIO',
  6: 'ENXIO',
  7: 'E2BIG',
  8: 'ENOEXEC',
  9: 'EBADF',
  10: 'ECHILD',
  11: 'EAGAIN',
  12: 'ENOMEM',
  13: 'EACCES',
  14: 'EFAULT',
  16: 'EBUSY',
  17: 'EEXIST',
  18: 'EXDEV',
  19: 'ENODEV',
  20: 'ENOTDIR',
  21: 'EISDIR',
  22: 'EINVAL',
  23: 'ENFILE',
  24: 'EMFILE',
  25: 'ENOTTY',
  27: 'EFBIG',
  28: 'ENOSPC',
  30: 'EROFS',
  34: 'ERANGE',
  36: 'ENAMETOOLONG',
  38: 'ENOSYS',
  39: 'ENOTEMPTY',
  61: 'ENODATA',
  62: 'ETIME',
  67: 'ENOLINK',
  75: 'EOVERFLOW',
  77: 'EBADFD',
  95: 'EOPNOTSUPP',
  105: 'ENOBUFS',
  110: 'ETIMEDOUT',
  116: 'ESTALE',
  524: 'ENOTSUPP',
};

/** The symbolic name of an errno number, or `E<number>` for one without a name here. */
export function errnoName(errno: number): string {
  return ERRNO_NAMES[errno] ?? `E${errno}`;
}

/** The errno number of a symbolic name, or undefined. */
export function errnoNumber(name: string): number | undefined {
  for (const [num, n] of Object.entries(ERRNO_NAMES)) if (n === name) return Number(num);
  return undefined;
}
