import type { Progress } from "../backup/runVault.js";
import type { Output } from "./output.js";

/** objects done / listed, rate, throttled: a bar on a TTY, a line per kind otherwise. */
export function progressReporter(
  output: Output,
  vault: string,
): { update: (p: Progress) => void; finish: () => void } {
  let started = Date.now();
  let lastKind = "";
  let last: Progress | undefined;
  const update = (p: Progress): void => {
    if (p.kind !== lastKind) {
      if (last && !output.tty) output.err(line(vault, last, started));
      started = Date.now();
    }
    lastKind = p.kind;
    last = p;
    if (output.tty) {
      const width = 24;
      const filled = p.listed > 0 ? Math.round((p.done / p.listed) * width) : 0;
      output.status(
        `${vault} ${p.kind.padEnd(12)} ${"█".repeat(filled)}${"░".repeat(width - filled)} ${line(vault, p, started, true)}`,
      );
    }
  };
  const finish = (): void => {
    if (last && !output.tty) output.err(line(vault, last, started));
  };
  return { update, finish };
}

function line(vault: string, p: Progress, started: number, short = false): string {
  const seconds = Math.max(0.001, (Date.now() - started) / 1000);
  const stats = `${p.done}/${p.listed}  ${(p.done / seconds).toFixed(1)} obj/s  throttled ${p.throttled}`;
  return short ? stats : `${vault} ${p.kind}: ${stats}`;
}
