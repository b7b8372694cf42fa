import type { DrillMismatch, ObjectFacts } from "../../domain/drillRecord.js";
import type { ManifestItem } from "../../domain/manifest.js";
import { KindTraits } from "../../domain/vocabulary.js";

const tagsText = (t?: Record<string, string>): string =>
  JSON.stringify(Object.fromEntries(Object.entries(t ?? {}).sort(([a], [b]) => (a < b ? -1 : 1))));

/**
 * Proves one restored object. Against the vault as it is now when the object is unchanged since
 * the run (same updatedOn): enabled, content type, tags, every version's id and metadata, and the
 * key's public-key thumbprint or the certificate's x5t. Against the manifest otherwise (the object
 * changed or is gone since): enabled, content type and tags, which the run recorded.
 */
export function prove(
  item: ManifestItem,
  restored: ObjectFacts | undefined,
  source: ObjectFacts | undefined,
): { mismatches: DrillMismatch[]; againstSource: boolean } {
  const at = { kind: item.kind, name: item.name };
  if (!restored) return { mismatches: [{ ...at, field: "missing" }], againstSource: false };
  const out: DrillMismatch[] = [];
  const same = (field: string, expected: string | undefined, actual: string | undefined): void => {
    if ((expected ?? "") !== (actual ?? ""))
      out.push({
        ...at,
        field,
        ...(expected !== undefined ? { expected } : {}),
        ...(actual !== undefined ? { actual } : {}),
      });
  };
  const againstSource =
    source !== undefined && source.updatedOn !== undefined && source.updatedOn === item.updatedOn;
  const expected = againstSource
    ? source
    : {
        enabled: item.enabled,
        ...(item.contentType ? { contentType: item.contentType } : {}),
        ...(item.tags ? { tags: item.tags } : {}),
      };
  same("enabled", String(expected.enabled), String(restored.enabled));
  same("contentType", expected.contentType, restored.contentType);
  same("tags", tagsText(expected.tags), tagsText(restored.tags));
  if (againstSource && source) {
    same("versions", String(source.versions.length), String(restored.versions.length));
    const theirs = new Map(restored.versions.map((v) => [v.id, v]));
    for (const v of source.versions) {
      const r = theirs.get(v.id);
      if (!r) {
        out.push({ ...at, field: `version ${v.id}`, expected: "present", actual: "missing" });
        continue;
      }
      same(`version ${v.id} enabled`, String(v.enabled), String(r.enabled));
      same(`version ${v.id} contentType`, v.contentType, r.contentType);
    }
    const material = KindTraits[item.kind].publicMaterial;
    if (material) same(material, source.thumbprint, restored.thumbprint);
  }
  return { mismatches: out, againstSource };
}

/**
 * Proves one object a point-in-time drill restored from an event backup (the backup holds no
 * listing of the object, so its metadata cannot be compared): it came back; the version whose
 * event asked for the backup is among its versions; and, while the vault still holds that version
 * (the same object, not one deleted and made again), every version that came back is one the
 * vault has — nothing the vault never held.
 */
export function proveEvent(
  item: ManifestItem,
  eventVersion: string | undefined,
  restored: ObjectFacts | undefined,
  source: ObjectFacts | undefined,
): DrillMismatch[] {
  const at = { kind: item.kind, name: item.name };
  if (!restored) return [{ ...at, field: "missing" }];
  const out: DrillMismatch[] = [];
  const mine = new Set(restored.versions.map((v) => v.id));
  if (!eventVersion || !mine.has(eventVersion))
    out.push({ ...at, field: `version ${eventVersion ?? "?"}`, expected: "present", actual: "missing" });
  const theirs = new Set(source?.versions.map((v) => v.id) ?? []);
  if (eventVersion && theirs.has(eventVersion))
    for (const v of restored.versions)
      if (!theirs.has(v.id))
        out.push({ ...at, field: `version ${v.id}`, expected: "in the vault", actual: "only in the backup" });
  return out;
}

/**
 * A point-in-time drill's run item whose object the vault changed after the run and by the drill's
 * time, with no event backup holding the change: the restore is not the vault as it was then.
 */
export function changedByThen(
  item: ManifestItem,
  source: ObjectFacts | undefined,
  at: string,
): DrillMismatch | undefined {
  const changed = Date.parse(source?.updatedOn ?? "");
  if (
    !(changed <= Date.parse(at)) ||
    source?.updatedOn === item.updatedOn ||
    !(changed > Date.parse(item.updatedOn ?? ""))
  )
    return undefined;
  return {
    kind: item.kind,
    name: item.name,
    field: "state at the time",
    expected: `changed ${source?.updatedOn}`,
    actual: `the run's copy of ${item.updatedOn} (no event backup holds the change)`,
  };
}
