import { abortError, type SignalLike } from "../domain/signal.js";

/**
 * One abort listener on a run's signal, however many requests are in flight: each unit of work
 * (an object's backup, a listing) gets a child signal of its own, aborted with the parent and
 * forgotten when the work ends. The SDKs add their listeners to the children, so the run's signal
 * never collects a listener per request.
 */
export class SignalFanout {
  private readonly children = new Set<AbortController>();
  private readonly onAbort = (): void => {
    for (const c of this.children) c.abort(abortError(this.parent));
  };

  constructor(private readonly parent: SignalLike) {
    parent.addEventListener("abort", this.onAbort);
  }

  /** Runs fn with a child signal, released when fn settles. */
  async with<T>(fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const child = new AbortController();
    if (this.parent.aborted) child.abort(abortError(this.parent));
    this.children.add(child);
    try {
      return await fn(child.signal);
    } finally {
      this.children.delete(child);
    }
  }

  /** Removes the one listener from the parent. */
  close(): void {
    this.parent.removeEventListener("abort", this.onAbort);
    this.children.clear();
  }
}
