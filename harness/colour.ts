// Colour on a terminal only: a stream that is a TTY (and TERM is not dumb), unless NO_COLOR is
// set; FORCE_COLOR turns it on anywhere. Per stream, so that stdout piped to a file is plain while
// stderr on the terminal is not. picocolors makes the escapes.

import picocolors from 'picocolors';

export type Colours = ReturnType<typeof picocolors.createColors>;

/** Whether `stream` gets colour (https://no-color.org, FORCE_COLOR as Node and most tools read it). */
export function colourOn(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env['NO_COLOR']) return false;
  if (env['FORCE_COLOR'] && env['FORCE_COLOR'] !== '0') return true;
  return stream.isTTY === true && env['TERM'] !== 'dumb';
}

/** Whether a live block (cursor movement) may be drawn on `stream`: a terminal that can move its cursor. */
export function liveOn(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  return stream.isTTY === true && env['TERM'] !== 'dumb';
}

export function colours(enabled: boolean): Colours {
  return picocolors.createColors(enabled);
}

const OUTCOME = /^(\[\d+\/\d+\] )?(PASS|FAIL|CRASH|ERROR|UNSUPPORTED|NOT-RUN)\b/;

/**
 * The report's own marks in colour, on text already made printable (user text in it cannot hold
 * an escape): each pair's outcome word, the `*` of a differing field, the result line.
 */
export function paint(text: string, c: Colours): string {
  return text
    .split('\n')
    .map((line) => {
      const outcome = OUTCOME.exec(line);
      if (outcome) {
        const word = outcome[2]!;
        const styled = word === 'PASS' ? c.green(word) : word === 'UNSUPPORTED' || word === 'NOT-RUN' ? c.yellow(word) : c.bold(c.red(word));
        return `${outcome[1] ?? ''}${styled}${line.slice(outcome[0].length)}`;
      }
      if (/^\s+\* /.test(line)) return line.replace('*', c.red('*'));
      if (line.startsWith('result: ')) return /\(exit 0\)$/.test(line) ? c.green(line) : c.bold(c.red(line));
      return line;
    })
    .join('\n');
}
