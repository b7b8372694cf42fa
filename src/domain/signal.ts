import type { AbortSignalLike } from "@azure/abort-controller";
import { KvBackupError } from "./errors.js";

/** What the Azure SDKs accept as an abort signal; an AbortSignal is one. */
export type SignalLike = AbortSignalLike;

const reasonOf = (signal: SignalLike | undefined): unknown =>
  (signal as { reason?: unknown } | undefined)?.reason;

/** The error an abort becomes: the signal's own KvBackupError reason (e.g. LeaseLost), else Aborted. */
export function abortError(signal: SignalLike | undefined): KvBackupError {
  const reason = reasonOf(signal);
  return reason instanceof KvBackupError
    ? reason
    : new KvBackupError("Aborted", "aborted", { cause: reason });
}

/** setTimeout as a promise that a signal can cut short; its listener is removed either way. */
export function delay(ms: number, signal?: SignalLike): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(abortError(signal));
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(abortError(signal));
    };
    const timer = setTimeout(
      () => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      },
      Math.max(0, ms),
    );
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
