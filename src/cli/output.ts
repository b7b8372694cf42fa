/** Where the CLI writes: one JSON document on stdout with --json, people's text otherwise; progress on stderr. */
export interface Output {
  json: boolean;
  tty: boolean;
  out(line: string): void;
  err(line: string): void;
  /** Rewrites the current stderr line (TTY only). */
  status(line: string): void;
  document(value: unknown): void;
}

export function consoleOutput(json: boolean): Output {
  const tty = process.stderr.isTTY === true && !json;
  let statusShown = false;
  const clear = (): void => {
    if (statusShown) {
      process.stderr.write("\r\x1b[2K");
      statusShown = false;
    }
  };
  return {
    json,
    tty,
    out: (line) => {
      if (json) return;
      clear();
      process.stdout.write(`${line}\n`);
    },
    err: (line) => {
      clear();
      process.stderr.write(`${line}\n`);
    },
    status: (line) => {
      if (!tty) return;
      process.stderr.write(`\r\x1b[2K${line}`);
      statusShown = true;
    },
    document: (value) => {
      clear();
      process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
    },
  };
}

/** A fixed-width table for people. */
export function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length))) ?? [];
  return rows
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i] ?? 0))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

export const formatBytes = (n: number): string =>
  n < 1024 ? `${n} B` : n < 1024 ** 2 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / 1024 ** 2).toFixed(1)} MiB`;
