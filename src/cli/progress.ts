import type { Progress } from "../backup/engine.js";
import type { Output } from "./output.js";

const Width = 24;

/** The one progress bar: done of total, drawn on a TTY only. */
export function drawBar(output: Output, label: string, done: number, total: number, tail: string): void {
  const filled = total > 0 ? Math.min(Width, Math.round((done / total) * Width)) : 0;
  output.status(`${label} ${"█".repeat(filled)}${"░".repeat(Width - filled)} ${tail}`);
}

/**
 * A backup's progress: objects done of those listed so far ("listing…" until the kind's listing
 * ends, so the total is not mistaken for final), the rate over the whole run, 429s seen. A bar on a
 * TTY; otherwise one line per kind when it ends.
 */
export function backupProgress(
  output: Output,
  vault: string,
): { update: (p: Progress) => void; finish: () => void } {
  const started = Date.now();
  let last: Progress | undefined;
  const line = (p: Progress): string => {
    const seconds = Math.max(0.001, (Date.now() - started) / 1000);
    const total = p.listingDone ? `${p.listed}` : `${p.listed} listed so far`;
    return `${p.done}/${total}  ${(p.runDone / seconds).toFixed(1)} obj/s  throttled ${p.throttled}`;
  };
  const update = (p: Progress): void => {
    if (last && p.kind !== last.kind && !output.tty) output.err(`${vault} ${last.kind}: ${line(last)}`);
    last = p;
    drawBar(output, `${vault} ${p.kind.padEnd(12)}`, p.done, p.listed, line(p));
  };
  const finish = (): void => {
    if (last && !output.tty) output.err(`${vault} ${last.kind}: ${line(last)}`);
  };
  return { update, finish };
}
