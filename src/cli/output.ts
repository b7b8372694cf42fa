import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

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

/**
 * The guides the CLI ships: README.md and docs/ at the package's root (the packed CLI's
 * dist/cli/main.mjs and a clone's src/cli/output.ts are both two levels below it).
 */
const packageRoot = fileURLToPath(new URL("../../", import.meta.url));

/**
 * A line that names a guide (docs/troubleshooting.md, README.md) names it where it is: the shipped
 * copy's full path, unless the name already leads there from the current directory (a clone's root).
 */
export function docLinks(line: string, cwd: string = process.cwd(), root: string = packageRoot): string {
  return line.replace(/(?<![\w/.-])(?:docs\/[\w-]+|README)\.md\b/g, (named) => {
    const shipped = join(root, named);
    if (!existsSync(shipped) || resolve(cwd, named) === shipped) return named;
    return shipped;
  });
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
      io.stdout(`${docLinks(line)}\n`);
    },
    err: (line) => {
      clear();
      io.stderr(`${docLinks(line)}\n`);
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
