import { type EngineDeps, fromCopy } from "../backup/engine.js";
import { KvBackupError } from "../domain/errors.js";
import type { Output } from "./output.js";

/** 130: stopped by Ctrl-C (SIGINT) or SIGTERM, as shells count a signal. */
export const ExitCode = { ok: 0, failed: 1, usage: 2, interrupted: 130 } as const;

export type OptionSpec = { type: "string" | "boolean"; multiple?: boolean; short?: string };

/** What a command gets: its parsed words, where to write, and the app (made from the settings on first use). */
export interface CommandContext {
  out: Output;
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
  app(): EngineDeps;
  /** Aborted when the operator interrupts (Ctrl-C): runs stop, release their lease and say so. */
  signal?: AbortSignal;
}

export interface Command {
  name: string;
  /** One line of synopsis, then what it does. */
  usage: string;
  options: Record<string, OptionSpec>;
  /** Positional arguments it takes: at least min, at most max. */
  positionals: { min: number; max: number; name?: string };
  run(ctx: CommandContext): Promise<number>;
}

export const usageError = (message: string): KvBackupError => new KvBackupError("BadRequest", message);

export const text = (ctx: CommandContext, name: string): string | undefined =>
  typeof ctx.values[name] === "string" ? (ctx.values[name] as string) : undefined;

export const texts = (ctx: CommandContext, name: string): string[] =>
  Array.isArray(ctx.values[name]) ? (ctx.values[name] as string[]) : [];

/**
 * The engine a read of backups uses: the backup account, or with `--from copy` the isolated copy
 * (its blobs and manifests; its runs found by the layout, since the inventory is the account's).
 */
export function sourceApp(ctx: CommandContext): EngineDeps {
  return fromOption(ctx) ? fromCopy(ctx.app()) : ctx.app();
}

/** `--from copy`, checked: the isolated copy is the only other source. */
export function fromOption(ctx: CommandContext): "copy" | undefined {
  const from = text(ctx, "from");
  if (from !== undefined && from !== "copy")
    throw usageError(`--from takes copy (the isolated copy), not '${from.slice(0, 32)}'`);
  return from;
}
