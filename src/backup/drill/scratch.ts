import { drillVaultNotEmpty, drillVaultPurgeProtected, isPurgeProtected } from "../../diagnosis/drill.js";
import type { Diagnosis } from "../../domain/diagnosis.js";
import { type DrillState, DrillStateSchema } from "../../domain/drillRecord.js";
import { failureOf } from "../../domain/errors.js";
import { sha256Hex } from "../../domain/manifestCheck.js";
import type { SignalLike } from "../../domain/signal.js";
import { isKind, type Kind, Kinds, KindTraits } from "../../domain/vocabulary.js";
import type { DocumentStore, VaultInspector, VaultPort } from "../ports.js";

/** The scratch vault's drill record: what the last drill restored, so its leftovers are known. */
export const drillStatePath = (scratch: string): string => `drills/${scratch}/state.json`;

export async function readDrillState(
  documents: DocumentStore,
  scratch: string,
  signal?: SignalLike,
): Promise<DrillState | undefined> {
  const found = await documents.read(drillStatePath(scratch), signal);
  if (!found) return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(found.bytes).toString("utf8"));
  } catch {
    return undefined;
  }
  const parsed = DrillStateSchema.safeParse(raw);
  if (!parsed.success) return undefined;
  const { at, ...state } = parsed.data;
  return { ...state, ...(at !== undefined ? { at } : {}) };
}

export async function writeDrillState(
  documents: DocumentStore,
  scratch: string,
  state: DrillState,
  signal?: SignalLike,
): Promise<void> {
  const path = drillStatePath(scratch);
  const bytes = Buffer.from(JSON.stringify(state));
  // Created the first time; replaced (no ETag: the drill holds the scratch vault's lease) after.
  if (await documents.create(path, bytes, signal)) return;
  await documents.replace(path, bytes, undefined, signal);
}

/** What a drill row records of the objects its drill restores: their count and a digest of the sorted kind/name list. */
export function scratchDigest(objects: readonly string[]): { count: number; sha256: string } {
  const list = [...new Set(objects.map((o) => o.toLowerCase()))].sort();
  return { count: list.length, sha256: sha256Hex(new TextEncoder().encode(list.join("\n"))) };
}

/** A certificate brings its managed key and secret: a drill that restored certificates/x also made keys/x and secrets/x. */
export const withManaged = (objects: readonly string[]): Set<string> => {
  const all = new Set(objects.map((o) => o.toLowerCase()));
  for (const o of objects) {
    const [kind, name] = o.split("/") as [string, string];
    if (isKind(kind)) for (const k of KindTraits[kind].holds) all.add(`${k}/${name.toLowerCase()}`);
  }
  return all;
};

/** Everything in the scratch vault, active or soft-deleted, as kind/name. */
export async function scratchContents(port: VaultPort, signal?: SignalLike): Promise<Set<string>> {
  const present = new Set<string>();
  for (const kind of Kinds) {
    for (const n of await port.names(kind, signal)) present.add(`${kind}/${n}`);
    for (const n of await port.deletedNames(kind, signal)) present.add(`${kind}/${n}`);
  }
  return present;
}

/** The scratch vault may be used when it holds nothing, or only what the last drill restored. */
export function foreignObjects(present: ReadonlySet<string>, state: DrillState | undefined): string[] {
  const ours = withManaged(state?.objects ?? []);
  return [...present].filter((o) => !ours.has(o)).sort();
}

/**
 * Deletes and purges what a drill restored: certificates first (their managed key and secret go
 * with them), then keys and secrets; each object deleted, then purged. Purge protection on the
 * scratch vault is the one refusal named for what it is.
 */
export async function emptyScratch(
  inspector: VaultInspector,
  scratch: string,
  objects: Iterable<string>,
  signal?: SignalLike,
): Promise<Diagnosis | undefined> {
  const order = [...Kinds].sort((a, b) => KindTraits[a].deleteOrder - KindTraits[b].deleteOrder);
  const byKind = new Map<Kind, string[]>(order.map((k) => [k, []]));
  for (const o of objects) {
    const [kind, name] = o.split("/") as [Kind, string];
    byKind.get(kind)?.push(name);
  }
  const protectedLeft: string[] = [];
  for (const kind of order)
    for (const name of byKind.get(kind) ?? []) {
      await inspector.delete(kind, name, signal);
      try {
        await inspector.purge(kind, name, signal);
      } catch (e) {
        if (!isPurgeProtected(failureOf(e, "keyvault"))) throw e;
        protectedLeft.push(`${kind}/${name}`);
      }
    }
  return protectedLeft.length ? drillVaultPurgeProtected(scratch, protectedLeft) : undefined;
}

export { drillVaultNotEmpty };
