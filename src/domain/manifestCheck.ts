import { createHash } from "node:crypto";
import { z } from "zod";
import { HsmFolderPattern } from "./hsmBackup.js";
import { CopiedFromEvents, type Manifest, manifestBlob, objectBlob, runPrefix } from "./manifest.js";
import { EtagPattern } from "./objects.js";
import { ObjectNamePattern, RunIdPattern, VaultNamePattern } from "./rules.js";
import { Kinds, Modes, RunStatuses, Tiers, Triggers } from "./vocabulary.js";

const kind = z.enum(Kinds);
const name = z.string().regex(ObjectNamePattern);
const diagnosis = z.object({ code: z.string(), cause: z.string(), fix: z.string() });
const Schema = z.object({
  schemaVersion: z.union([z.literal(1), z.literal(2)]),
  runId: z.string().regex(RunIdPattern),
  vault: z.object({ name: z.string().regex(VaultNamePattern), url: z.string().url() }),
  tier: z.enum(Tiers),
  trigger: z.enum(Triggers),
  mode: z.enum(Modes).optional(),
  kinds: z.array(kind).optional(),
  startedAt: z.string(),
  finishedAt: z.string(),
  status: z.enum(RunStatuses),
  items: z.array(
    z.object({
      kind,
      name,
      blob: z.string(),
      bytes: z.number().int().nonnegative(),
      sha256: z.string().regex(/^[0-9a-f]{64}$/),
      version: z.string().optional(),
      updatedOn: z.string().optional(),
      enabled: z.boolean(),
      contentType: z.string().optional(),
      tags: z.record(z.string(), z.string()).optional(),
      copiedFrom: z.union([z.string().regex(RunIdPattern), z.literal(CopiedFromEvents)]).optional(),
      // A strong ETag (EtagPattern): a copy sends it as x-ms-source-if-match.
      etag: z.string().regex(EtagPattern).optional(),
    }),
  ),
  skipped: z.array(
    z.object({ kind, name, reason: z.enum(["managed-by-certificate", "deleted-during-run"]) }),
  ),
  failed: z.array(
    z.object({
      kind,
      name: z.union([name, z.literal("*")]),
      code: z.string(),
      message: z.string(),
      diagnosis,
    }),
  ),
  leftovers: z.array(z.string()).optional(),
  eventsMissed: z.array(z.object({ kind, name, createdOn: z.string() })).optional(),
  hsm: z
    .object({
      jobId: z.string().min(1),
      container: z.string().regex(/^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$/),
      folder: z.string().regex(HsmFolderPattern),
      files: z.array(
        z.object({
          name: z.string().min(1),
          bytes: z.number().int().nonnegative(),
          sha256: z.string().regex(/^[0-9a-f]{64}$/),
        }),
      ),
    })
    .optional(),
});

/**
 * A Managed HSM run's record must describe that HSM's own backup: no vault objects beside it, the
 * tier's HSM container, a folder the HSM names for itself (mhsm-{name}-...), files under it only.
 */
function hsmRecordProblem(
  hsm: { container: string; folder: string; files: { name: string }[] },
  name: string,
  tier: string,
  objects: number,
  [startedAt, finishedAt]: [string, string],
): string | undefined {
  if (objects > 0) return "it holds vault objects and a Managed HSM backup at once";
  // The HSM stamps its folder with the job's start (UTC): a run's own folder was started during the run.
  const at = hsmFolderTime(hsm.folder);
  // Clock slack between the HSM and the app; runs of one HSM never overlap (its lease), and its
  // backups take minutes, so another run's folder falls outside.
  const slack = HsmClockSlackMs;
  if (!(at >= Date.parse(startedAt) - slack && at <= Date.parse(finishedAt) + slack))
    return `its HSM folder '${hsm.folder}' was not written during this run (${startedAt} to ${finishedAt})`;
  if (!hsm.container.endsWith(`-hsm-${tier}`))
    return `its HSM backup is in container '${hsm.container}', not the ${tier} tier's HSM container`;
  if (!hsm.folder.toLowerCase().startsWith(`mhsm-${name}-`))
    return `its HSM folder '${hsm.folder}' is not one Managed HSM '${name}' wrote`;
  const seen = new Set<string>();
  for (const f of hsm.files) {
    if (
      !f.name.startsWith(`${hsm.folder}/`) ||
      f.name.split("/").some((p) => p === ".." || p === "." || p === "")
    )
      return `its HSM file '${f.name}' is not in folder '${hsm.folder}'`;
    if (seen.has(f.name)) return `its HSM file '${f.name}' is listed twice`;
    seen.add(f.name);
  }
  return undefined;
}

export const HsmClockSlackMs = 60_000;

/** An HSM folder's stamp (the job's start, UTC, as the HSM names it): NaN when it has none. */
export function hsmFolderTime(folder: string): number {
  const stamp = /-(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})\d*$/.exec(folder);
  const n = (k: number): number => Number(stamp?.[k] ?? Number.NaN);
  return stamp ? Date.UTC(n(1), n(2) - 1, n(3), n(4), n(5), n(6)) : Number.NaN;
}

export type ManifestRead = { ok: true; manifest: Manifest; sha256: string } | { ok: false; problem: string };

export const sha256Hex = (bytes: Uint8Array): string => createHash("sha256").update(bytes).digest("hex");

/**
 * Reads manifest.json as found at `path`, refusing anything that does not describe that run
 * truthfully: not JSON, not the schema, another run's folder, an item whose blob is not the layout
 * path of its own kind and name (two swapped items), a name listed twice, or bytes whose SHA-256
 * differs from the one the inventory recorded. Version 1 manifests are read as version 2.
 */
export function readManifestBytes(path: string, bytes: Uint8Array, expectedSha256?: string): ManifestRead {
  const sha256 = sha256Hex(bytes);
  if (expectedSha256 && expectedSha256 !== sha256)
    return {
      ok: false,
      problem: `its SHA-256 is not the one recorded when the run committed (edited or damaged)`,
    };
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(bytes).toString("utf8"));
  } catch {
    return { ok: false, problem: "it is not valid JSON" };
  }
  const parsed = Schema.safeParse(json);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    return {
      ok: false,
      problem: `it does not match the manifest schema (${first?.path.join(".") || "root"}: ${first?.message})`,
    };
  }
  const m = parsed.data;
  const prefix = runPrefix(m.tier, m.vault.name.toLowerCase(), m.runId);
  if (path !== manifestBlob(prefix))
    return { ok: false, problem: `it describes run ${m.runId} of ${m.vault.name}, not the folder it is in` };
  const seen = new Set<string>();
  for (const i of m.items) {
    if (i.blob !== objectBlob(prefix, i.kind, i.name))
      return { ok: false, problem: `item ${i.kind}/${i.name} points at ${i.blob}, not its own blob` };
    const key = `${i.kind}/${i.name.toLowerCase()}`;
    if (seen.has(key)) return { ok: false, problem: `item ${key} is listed twice` };
    seen.add(key);
  }
  const hsmProblem = m.hsm
    ? hsmRecordProblem(
        m.hsm,
        m.vault.name.toLowerCase(),
        m.tier,
        m.items.length + m.skipped.length + m.failed.length,
        [m.startedAt, m.finishedAt],
      )
    : undefined;
  if (hsmProblem) return { ok: false, problem: hsmProblem };
  const items = new Set(m.items.map((i) => i.blob));
  for (const left of m.leftovers ?? [])
    if (!left.startsWith(prefix) || items.has(left))
      return { ok: false, problem: `leftover ${left} is not a stray blob of this run's folder` };
  const manifest = {
    ...m,
    schemaVersion: 2,
    mode: m.mode ?? "full",
    kinds: m.kinds ?? [...Kinds],
    items: m.items.map(({ version, ...rest }) => (version ? { ...rest, version } : rest)),
  } as Manifest;
  return { ok: true, manifest, sha256 };
}
