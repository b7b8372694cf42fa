/**
 * Runs tasks with at most `size` at a time. submit() waits while the pool is full, so a producer
 * (a listing) never runs ahead of the work: memory stays bounded however large the vault.
 */
export class Pool {
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  private readonly idle: (() => void)[] = [];
  private firstError: unknown;

  constructor(private readonly size: number) {}

  async submit(task: () => Promise<void>): Promise<void> {
    while (this.running >= this.size) await new Promise<void>((r) => this.waiting.push(r));
    if (this.firstError !== undefined) throw this.firstError;
    this.running++;
    task()
      .catch((e: unknown) => {
        this.firstError ??= e;
      })
      .finally(() => {
        this.running--;
        this.waiting.shift()?.();
        if (this.running === 0) for (const r of this.idle.splice(0)) r();
      });
  }

  /** Waits for every submitted task; rethrows the first error a task let escape. */
  async drain(): Promise<void> {
    if (this.running > 0) await new Promise<void>((r) => this.idle.push(r));
    if (this.firstError !== undefined) throw this.firstError;
  }
}

/**
 * The source's items, with the next ones already asked for while the consumer works on this one
 * (`ahead` at most): a listing's next page is on its way while the pool works through the current
 * one, instead of the pool running dry at every page boundary. Memory stays bounded: `ahead`
 * items. A failure of a page asked for early surfaces when its turn comes; a consumer that stops
 * early closes the source.
 */
export async function* readAhead<T>(source: AsyncIterable<T>, ahead = 1): AsyncGenerator<T> {
  const it = source[Symbol.asyncIterator]();
  const asked: Promise<IteratorResult<T>>[] = [];
  let done = false;
  const ask = (): void => {
    const next = it.next();
    // Observed when its turn comes; never an unhandled rejection meanwhile.
    next.catch(() => undefined);
    asked.push(next);
  };
  try {
    ask();
    for (;;) {
      const r = await (asked.shift() as Promise<IteratorResult<T>>);
      if (r.done) {
        done = true;
        return;
      }
      while (asked.length < ahead) ask();
      yield r.value;
    }
  } finally {
    if (!done) {
      // The consumer stopped (or a page failed): let what was asked settle, then close the source.
      await Promise.allSettled(asked);
      await it.return?.()?.catch(() => undefined);
    }
  }
}
