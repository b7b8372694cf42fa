import { KvBackupError } from "../domain/errors.js";
import { abortError, type SignalLike } from "../domain/signal.js";
import { isStorageFailure } from "./failures.js";
import type { Lease } from "./ports.js";

/**
 * Runs fn while holding something a lease keeps (the vault's lease, a budget slot), with a signal
 * that fires when the caller aborts or the hold is lost: taken away -> LeaseLost (retryable: another
 * run may own it now), storage refusing the renewal -> that storage failure. Released either way.
 */
export async function holding<T, L extends Lease = Lease>(
  outer: SignalLike | undefined,
  acquire: (onLost: (reason?: unknown) => void) => Promise<L>,
  lost: string,
  fn: (signal: SignalLike, held: L) => Promise<T>,
): Promise<T> {
  const stop = new AbortController();
  const onAbort = (): void => stop.abort((outer as { reason?: unknown } | undefined)?.reason);
  outer?.addEventListener("abort", onAbort, { once: true });
  try {
    if (outer?.aborted) throw abortError(outer);
    const held = await acquire((reason) =>
      stop.abort(
        isStorageFailure(reason) ? reason : new KvBackupError("LeaseLost", lost, { retryable: true }),
      ),
    );
    try {
      return await fn(stop.signal, held);
    } finally {
      await held.release();
    }
  } finally {
    outer?.removeEventListener("abort", onAbort);
  }
}
