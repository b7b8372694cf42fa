import { createHash } from "node:crypto";
import type { Kind, VaultRef } from "../config.js";
import { blobMissing, corruptBlob, type Diagnosis, diagnose } from "../diagnosis.js";
import { KeyVaultCallError, type VaultAdapter } from "../keyvault/vaultAdapter.js";
import type { BackupStore } from "../storage/backupStore.js";
import { isStorageStatus, StorageCallError } from "../storage/storageError.js";
import { delay, type SignalLike } from "./delay.js";
import type { Manifest } from "./manifest.js";
import { Pool } from "./pool.js";

export type PlanAction = "restore" | "skip-exists" | "skip-deleted" | "not-in-backup";
export type RestoreOutcome = "restored" | "skipped-exists" | "skipped-deleted" | "not-in-backup" | "failed";
export type OnConflict = "skip" | "fail";

export interface PlanEntry {
  kind: Kind;
  name: string;
  action: PlanAction;
  detail?: string;
}

export interface RestoreEntry {
  kind: Kind;
  name: string;
  outcome: RestoreOutcome;
  detail?: string;
  diagnosis?: Diagnosis;
}

export interface RestoreFilters {
  kinds?: readonly Kind[];
  /** "kind/name" or a bare name (any kind). */
  names?: readonly string[];
}

const lower = (s: string): string => s.toLowerCase();
const Kinds: Kind[] = ["secrets", "keys", "certificates"];

function wanted(filters: RestoreFilters, kind: Kind, name: string): boolean {
  if (filters.kinds?.length && !filters.kinds.includes(kind)) return false;
  if (!filters.names?.length) return true;
  return filters.names.some((n) => lower(n) === lower(`${kind}/${name}`) || lower(n) === lower(name));
}

/**
 * The plan: for each object of the run (after the filters), restore it, or skip it because the
 * target holds the name (as an object, or as a soft-deleted one), or say it is not in this backup.
 * Certificates also bring their key and secret, so those names must be free too.
 */
export async function planRestore(
  adapter: VaultAdapter,
  manifest: Manifest,
  filters: RestoreFilters,
  signal?: SignalLike,
): Promise<PlanEntry[]> {
  const items = manifest.items.filter((i) => wanted(filters, i.kind, i.name));
  const kinds = new Set<Kind>(items.map((i) => i.kind));
  if (kinds.has("certificates")) {
    kinds.add("keys");
    kinds.add("secrets");
  }
  const active = new Map<Kind, Set<string>>();
  const deleted = new Map<Kind, Set<string>>();
  for (const kind of Kinds.filter((k) => kinds.has(k))) {
    active.set(kind, await adapter.names(kind, signal));
    deleted.set(kind, await adapter.deletedNames(kind, signal));
  }
  const holders = (kind: Kind): Kind[] =>
    kind === "certificates" ? ["certificates", "keys", "secrets"] : [kind];
  const plan: PlanEntry[] = items.map((i) => {
    const n = lower(i.name);
    const taken = holders(i.kind).find((k) => active.get(k)?.has(n));
    if (taken)
      return {
        kind: i.kind,
        name: i.name,
        action: "skip-exists",
        detail: `a ${taken.slice(0, -1)} named '${i.name}' exists in the target`,
      };
    const held = holders(i.kind).find((k) => deleted.get(k)?.has(n));
    if (held) {
      return {
        kind: i.kind,
        name: i.name,
        action: "skip-deleted",
        detail: `a soft-deleted ${held.slice(0, -1)} holds the name: recover it (az keyvault ${held.slice(0, -1)} recover --name ${i.name} --vault-name <target>) or purge it (az keyvault ${held.slice(0, -1)} purge ...) and restore again`,
      };
    }
    return { kind: i.kind, name: i.name, action: "restore" };
  });
  // What the filters ask for that this run does not hold, with why.
  for (const f of manifest.failed) {
    if (f.name !== "*" && wanted(filters, f.kind, f.name))
      plan.push({
        kind: f.kind,
        name: f.name,
        action: "not-in-backup",
        detail: `its backup failed in this run (${f.code})`,
      });
  }
  const certificates = new Set(items.filter((i) => i.kind === "certificates").map((i) => lower(i.name)));
  for (const s of manifest.skipped) {
    // A certificate's key and secret come back with it: only say so when the certificate is not in the plan.
    if (filters.names?.length && wanted(filters, s.kind, s.name) && !certificates.has(lower(s.name))) {
      plan.push({
        kind: s.kind,
        name: s.name,
        action: "not-in-backup",
        detail:
          s.reason === "managed-by-certificate"
            ? "belongs to a certificate: restore the certificate"
            : s.reason,
      });
    }
  }
  for (const n of filters.names ?? []) {
    const [kind, name] = n.includes("/") ? (n.split("/", 2) as [Kind, string]) : [undefined, n];
    if (!plan.some((p) => lower(p.name) === lower(name) && (!kind || p.kind === kind))) {
      plan.push({ kind: kind ?? "secrets", name, action: "not-in-backup", detail: "not in this backup" });
    }
  }
  return plan;
}

export interface RestoreDeps {
  store: BackupStore;
  adapter: VaultAdapter;
  target: VaultRef;
  /** How long a 409 that may be transient (a purge still running) is retried. */
  conflictRetryMs?: number;
  onProgress?: (done: number, total: number) => void;
  /** Each object's outcome as soon as it is known (the restore worker saves progress with it). */
  onEntry?: (entry: RestoreEntry) => void;
}

/** Carries out a plan. Every blob is checked against its SHA-256 before it is sent; a mismatch is never restored. */
export async function executeRestore(
  deps: RestoreDeps,
  manifest: Manifest,
  plan: PlanEntry[],
  onConflict: OnConflict,
  signal?: SignalLike,
): Promise<RestoreEntry[]> {
  const results: RestoreEntry[] = [];
  const conflict = (
    p: PlanEntry,
    outcome: "skipped-exists" | "skipped-deleted",
    d: Diagnosis,
  ): RestoreEntry =>
    onConflict === "skip"
      ? { kind: p.kind, name: p.name, outcome, diagnosis: d, ...(p.detail ? { detail: p.detail } : {}) }
      : {
          kind: p.kind,
          name: p.name,
          outcome: "failed",
          diagnosis: d,
          ...(p.detail ? { detail: p.detail } : {}),
        };
  const label = (p: PlanEntry): string => `${p.kind.slice(0, -1)} '${p.name}'`;
  const todo = plan.filter((p) => p.action === "restore");
  let done = 0;
  for (const p of plan) {
    if (p.action === "not-in-backup")
      results.push({
        kind: p.kind,
        name: p.name,
        outcome: "not-in-backup",
        ...(p.detail ? { detail: p.detail } : {}),
      });
    if (p.action === "skip-exists") {
      results.push(
        conflict(
          p,
          "skipped-exists",
          diagnose(
            { service: "keyvault", status: 409, code: "Conflict", message: "" },
            { vault: deps.target.name, object: label(p) },
          ),
        ),
      );
    }
    if (p.action === "skip-deleted") {
      results.push(
        conflict(
          p,
          "skipped-deleted",
          diagnose(
            {
              service: "keyvault",
              status: 409,
              code: "Conflict",
              innerCode: "ObjectIsDeletedButRecoverable",
              message: "",
            },
            { vault: deps.target.name, object: label(p) },
          ),
        ),
      );
    }
  }
  const pool = new Pool(8);
  for (const p of todo) {
    await pool.submit(async () => {
      const entry = await restoreOne(deps, manifest, p, conflict, signal);
      results.push(entry);
      deps.onEntry?.(entry);
      deps.onProgress?.(++done, todo.length);
    });
  }
  await pool.drain();
  return results.sort((a, b) => (a.kind === b.kind ? (a.name < b.name ? -1 : 1) : a.kind < b.kind ? -1 : 1));
}

async function restoreOne(
  deps: RestoreDeps,
  manifest: Manifest,
  p: PlanEntry,
  conflict: (p: PlanEntry, outcome: "skipped-exists" | "skipped-deleted", d: Diagnosis) => RestoreEntry,
  signal?: SignalLike,
): Promise<RestoreEntry> {
  const item = manifest.items.find((i) => i.kind === p.kind && i.name === p.name);
  const object = `${p.kind.slice(0, -1)} '${p.name}'`;
  if (!item) return { kind: p.kind, name: p.name, outcome: "not-in-backup" };
  let bytes: Buffer;
  try {
    bytes = await deps.store.read(item.blob, signal);
  } catch (e) {
    if (isStorageStatus(e, 404))
      return { kind: p.kind, name: p.name, outcome: "failed", diagnosis: blobMissing(item.blob) };
    if (e instanceof StorageCallError)
      return { kind: p.kind, name: p.name, outcome: "failed", diagnosis: diagnose(e.failure, { object }) };
    throw e;
  }
  const actual = createHash("sha256").update(bytes).digest("hex");
  if (actual !== item.sha256)
    return {
      kind: p.kind,
      name: p.name,
      outcome: "failed",
      diagnosis: corruptBlob(item.blob, item.sha256, actual),
    };
  const deadline = Date.now() + (deps.conflictRetryMs ?? 60_000);
  for (let attempt = 0; ; attempt++) {
    try {
      await deps.adapter.restore(p.kind, bytes, signal);
      return { kind: p.kind, name: p.name, outcome: "restored" };
    } catch (e) {
      if (!(e instanceof KeyVaultCallError)) throw e;
      const d = diagnose(e.failure, { vault: deps.target.name, object });
      // A purge or deletion still running holds the name for a while: wait it out, up to a bound.
      if ((d.code === "BeingDeleted" || d.code === "RestoreConflict") && Date.now() < deadline) {
        await delay(Math.min(8000, 250 * 2 ** attempt), signal);
        continue;
      }
      if (d.code === "RestoreConflict") return conflict(p, "skipped-exists", d);
      if (d.code === "DeletedButRecoverable") return conflict(p, "skipped-deleted", d);
      return { kind: p.kind, name: p.name, outcome: "failed", diagnosis: d };
    }
  }
}

export const restoreStatus = (results: RestoreEntry[]): "succeeded" | "partial" | "failed" => {
  const failed = results.some((r) => r.outcome === "failed");
  if (!failed) return "succeeded";
  return results.some((r) => r.outcome === "restored") ? "partial" : "failed";
};
