// include/linux/err.h: kernel functions in this model return 0 or -errno, or an object or
// -errno (ERR_PTR), as the C does.

/** IS_ERR(): a negative number stands for -errno where a pointer was expected. */
export function isErr<T>(value: T | number): value is number {
  return typeof value === 'number';
}
