// What the engine has to tell a user besides results — a cache product made again, a kernel
// being built, a fallback taken — handed to one sink that the command line sets (stderr, or the
// live progress block of conform). The engine itself never writes to the terminal.

export type NoticeSink = (text: string) => void;

let sink: NoticeSink = () => {};

/** Says `text` (one line, without "mprog: ") to whoever listens; nothing when nobody does. */
export function notice(text: string): void {
  sink(text);
}

/** Makes `next` the sink; returns the one it replaces. */
export function setNoticeSink(next: NoticeSink): NoticeSink {
  const previous = sink;
  sink = next;
  return previous;
}
