// Debian version comparison (deb-version(7)), so "newest" means what apt and dpkg mean by it.

/** Sort weight of one character in the non-digit parts: '~' sorts before everything, letters before the rest. */
function order(c: string | undefined): number {
  if (c === undefined) return 0;
  if (c === '~') return -1;
  if (/[A-Za-z]/.test(c)) return c.charCodeAt(0);
  return c.charCodeAt(0) + 256;
}

function compareFragment(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    // Non-digit prefix, compared character by character.
    while ((i < a.length && !/\d/.test(a[i]!)) || (j < b.length && !/\d/.test(b[j]!))) {
      const ca = i < a.length && !/\d/.test(a[i]!) ? a[i] : undefined;
      const cb = j < b.length && !/\d/.test(b[j]!) ? b[j] : undefined;
      const d = order(ca) - order(cb);
      if (d !== 0) return d;
      if (ca !== undefined) i++;
      if (cb !== undefined) j++;
    }
    // Digit run, compared as a number.
    let na = '';
    let nb = '';
    while (i < a.length && /\d/.test(a[i]!)) na += a[i++];
    while (j < b.length && /\d/.test(b[j]!)) nb += b[j++];
    const d = Number(na || '0') - Number(nb || '0');
    if (d !== 0) return d;
  }
  return 0;
}

function split(v: string): [number, string, string] {
  const colon = v.indexOf(':');
  const epoch = colon >= 0 ? Number(v.slice(0, colon)) : 0;
  const rest = colon >= 0 ? v.slice(colon + 1) : v;
  const dash = rest.lastIndexOf('-');
  return dash >= 0 ? [epoch, rest.slice(0, dash), rest.slice(dash + 1)] : [epoch, rest, ''];
}

/** <0, 0, >0 as a is older, equal or newer than b. */
export function compareDebVersions(a: string, b: string): number {
  const [ea, ua, ra] = split(a);
  const [eb, ub, rb] = split(b);
  return ea - eb || compareFragment(ua, ub) || compareFragment(ra, rb);
}
