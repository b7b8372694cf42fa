import type { AbortSignalLike } from "@azure/abort-controller";
import { KvBackupError } from "../errors.js";

/** What the Azure SDKs pass around as a signal; an AbortSignal is one. */
export type SignalLike = AbortSignalLike;

/** setTimeout as a promise that an AbortSignal can cut short (rejecting with Aborted). */
export function delay(ms: number, signal?: SignalLike): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new KvBackupError("Aborted", "aborted", { cause: (signal as { reason?: unknown }).reason }));
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(
        new KvBackupError("Aborted", "aborted", {
          cause: (signal as { reason?: unknown } | undefined)?.reason,
        }),
      );
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
