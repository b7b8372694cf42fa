/** Where the CLI writes: the process's streams, or a test's buffers. */
export interface Io {
  stdout(text: string): void;
  stderr(text: string): void;
  /** stderr is a terminal: progress may redraw a line. */
  tty: boolean;
}

/**
 * The process's streams. A reader that goes away early (`kvbackup list | head -1`) closes the pipe:
 * that is not an error of kvbackup's, so the rest of the output is dropped quietly instead of
 * surfacing as an unhandled EPIPE.
 */
export function processIo(): Io {
  let closed = false;
  for (const stream of [process.stdout, process.stderr])
    stream.on("error", (e: NodeJS.ErrnoException) => {
      if (e.code !== "EPIPE") throw e;
      closed = true;
    });
  const write = (stream: NodeJS.WriteStream) => (s: string) => {
    if (!closed) stream.write(s);
  };
  return { stdout: write(process.stdout), stderr: write(process.stderr), tty: process.stderr.isTTY === true };
}

/** One JSON document on stdout with --json, people's text otherwise; progress and messages on stderr. */
export interface Output {
  json: boolean;
  tty: boolean;
  out(line: string): void;
  err(line: string): void;
  /** Rewrites the current stderr line (TTY only). */
  status(line: string): void;
  document(value: unknown): void;
}

export function output(io: Io, json: boolean): Output {
  const tty = io.tty && !json;
  let statusShown = false;
  const clear = (): void => {
    if (statusShown) io.stderr("\r\x1b[2K");
    statusShown = false;
  };
  return {
    json,
    tty,
    out: (line) => {
      if (json) return;
      clear();
      io.stdout(`${line}\n`);
    },
    err: (line) => {
      clear();
      io.stderr(`${line}\n`);
    },
    status: (line) => {
      if (!tty) return;
      io.stderr(`\r\x1b[2K${line}`);
      statusShown = true;
    },
    document: (value) => {
      clear();
      io.stdout(`${JSON.stringify(value, null, 2)}\n`);
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

export const diagnosisLines = (d: { code: string; cause: string; fix: string }, indent = "  "): string =>
  `${indent}${d.code}: ${d.cause}\n${indent}fix: ${d.fix}`;
