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
