// Asking a target about many sequences without waiting for each answer: the next ones are on
// their way while the last is examined, so a VM never waits for the host between sequences.
// Used by fuzz (target vs emulator) and diff (kernel vs kernel) for their generated sequences.

import { letEventsIn } from '../../vm/runtime/lifetime.js';

/**
 * The answers to `ask(make(0))`, `ask(make(1))`, ... while `more(index)`, `inFlight` asked at
 * once, yielded in order. A failed answer is the Error. Stopping the iteration early leaves the
 * ones in flight to finish on their own.
 */
export async function* pipelined<T, A>(
  make: (index: number) => T,
  more: (index: number) => boolean,
  ask: (item: T) => Promise<A>,
  inFlight: number,
): AsyncGenerator<{ index: number; item: T; answer: A | Error }> {
  const queue: { index: number; item: T; answer: Promise<A | Error> }[] = [];
  for (let next = 0; ; ) {
    while (queue.length < inFlight && more(next)) {
      const item = make(next);
      // Caught at once: a rejection must not go unhandled while earlier answers are awaited.
      const answer = ask(item).catch((err: unknown) => (err instanceof Error ? err : new Error(String(err))));
      queue.push({ index: next++, item, answer });
    }
    const head = queue.shift();
    if (!head) return;
    yield { index: head.index, item: head.item, answer: await head.answer };
    await letEventsIn();
  }
}
