import type { Clock } from "../../../src/backup/engine.js";
import { abortError, type SignalLike } from "../../../src/domain/signal.js";

/**
 * A clock that moves only when something sleeps: a sleep adds its time at once and resolves on
 * the next turn of the event loop, so other work goes on between tries and a ten-minute wait takes
 * no wall time. An aborted signal ends a sleep with the signal's error, as the real one does.
 */
export function fakeClock(start = 1_000_000): Clock & { advance(ms: number): void } {
  let t = start;
  return {
    ms: () => t,
    advance: (ms) => {
      t += ms;
    },
    sleep: (ms: number, signal?: SignalLike) =>
      new Promise<void>((resolve, reject) => {
        if (signal?.aborted) {
          reject(abortError(signal));
          return;
        }
        t += Math.max(0, ms);
        setImmediate(() => (signal?.aborted ? reject(abortError(signal)) : resolve()));
      }),
  };
}
