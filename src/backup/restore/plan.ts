import type { Manifest } from "../../domain/manifest.js";
import type { SignalLike } from "../../domain/signal.js";
import { type Kind, Kinds, KindTraits } from "../../domain/vocabulary.js";
import type { VaultPort } from "../ports.js";
import type { PlanEntry, RestoreFilters } from "./restoreTypes.js";

const lower = (s: string): string => s.toLowerCase();
const singular = (k: Kind): string => k.slice(0, -1);

function wanted(filters: RestoreFilters, kind: Kind, name: string): boolean {
  if (filters.kinds?.length && !filters.kinds.includes(kind)) return false;
  if (!filters.names?.length) return true;
  return filters.names.some((n) => lower(n) === lower(`${kind}/${name}`) || lower(n) === lower(name));
}

/** The kinds a request covers: the filter's, or every kind the run was asked to back up. */
const kindsAsked = (m: Manifest, f: RestoreFilters): Kind[] => (f.kinds?.length ? [...f.kinds] : m.kinds);

/** Names an object also occupies: restoring a certificate brings its key and secret. */
const holders = (kind: Kind): readonly Kind[] => KindTraits[kind].holds;

/**
 * What the request asks for that this run does not hold, each with why: objects whose backup
 * failed, kinds whose listing failed or that the run never covered, objects skipped, and names
 * it never saw. A restore that meets any of these cannot be called succeeded.
 */
function missing(m: Manifest, f: RestoreFilters, plan: readonly PlanEntry[]): PlanEntry[] {
  const out: PlanEntry[] = [];
  /** Why a whole kind is not in this run, if it is not. */
  const why = (kind: Kind): string | undefined => {
    const listing = m.failed.find((x) => x.kind === kind && x.name === "*");
    if (listing)
      return m.items.some((i) => i.kind === kind)
        ? `listing ${kind} failed part-way in this run (${listing.code}), so it holds only the ${kind} listed before the failure`
        : `listing ${kind} failed in this run (${listing.code}), so it holds no ${singular(kind)}`;
    if (!m.kinds.includes(kind)) return `this run did not back up ${kind} (it covered ${m.kinds.join(", ")})`;
    return undefined;
  };
  if (!f.names?.length)
    for (const kind of kindsAsked(m, f)) {
      const detail = why(kind);
      if (detail) out.push({ kind, name: "*", action: "not-in-backup", detail });
    }
  for (const x of m.failed)
    if (x.name !== "*" && wanted(f, x.kind, x.name))
      out.push({
        kind: x.kind,
        name: x.name,
        action: "not-in-backup",
        detail: `its backup failed in this run (${x.code})`,
      });
  // Names of the other kinds that planned objects bring back with them (a certificate's key and secret).
  const broughtBack = new Set(
    plan.flatMap((p) =>
      KindTraits[p.kind].holds.filter((k) => k !== p.kind).map((k) => `${k}/${lower(p.name)}`),
    ),
  );
  for (const s of m.skipped) {
    // A certificate's key and secret come back with it: only say so when the certificate is not
    // restored and the key or secret was asked for by name, or by its kind.
    const asked = f.names?.length
      ? wanted(f, s.kind, s.name)
      : s.reason === "managed-by-certificate" && !!f.kinds?.includes(s.kind);
    if (!asked || broughtBack.has(`${s.kind}/${lower(s.name)}`)) continue;
    const detail =
      s.reason === "managed-by-certificate"
        ? "belongs to a certificate: restore the certificate"
        : "it was deleted while the run went";
    out.push({ kind: s.kind, name: s.name, action: "not-in-backup", detail });
  }
  const known = [...plan, ...out];
  for (const n of f.names ?? []) {
    const [kind, name] = n.includes("/") ? (n.split("/", 2) as [Kind, string]) : [undefined, n];
    if (known.some((p) => lower(p.name) === lower(name) && (!kind || p.kind === kind))) continue;
    const kinds = kind ? [kind] : kindsAsked(m, f);
    const reasons = kinds.map(why).filter(Boolean);
    const detail = reasons.length ? `not in this backup: ${reasons.join("; ")}` : "not in this backup";
    out.push({ kind: kind ?? kinds[0] ?? Kinds[0], name, action: "not-in-backup", detail });
  }
  return out;
}

/**
 * The plan: for each object of the run (after the filters), restore it, or skip it because the
 * target holds the name (as an object, or as a soft-deleted one); then everything asked for that
 * the run does not hold. Certificates also bring their key and secret, so those names must be free.
 */
export async function planRestore(
  vault: VaultPort,
  manifest: Manifest,
  filters: RestoreFilters,
  signal?: SignalLike,
): Promise<PlanEntry[]> {
  const items = manifest.items.filter((i) => wanted(filters, i.kind, i.name));
  const lookup = new Set<Kind>(items.flatMap((i) => holders(i.kind)));
  const active = new Map<Kind, Set<string>>();
  const deleted = new Map<Kind, Set<string>>();
  for (const kind of Kinds.filter((k) => lookup.has(k))) {
    active.set(kind, await vault.names(kind, signal));
    deleted.set(kind, await vault.deletedNames(kind, signal));
  }
  const plan: PlanEntry[] = items.map((i) => {
    const n = lower(i.name);
    const taken = holders(i.kind).find((k) => active.get(k)?.has(n));
    if (taken)
      return {
        kind: i.kind,
        name: i.name,
        action: "skip-exists",
        detail:
          taken === i.kind
            ? `a ${singular(taken)} named '${i.name}' exists in the target`
            : `a ${singular(taken)} named '${i.name}' exists in the target, so the ${singular(i.kind)} cannot be restored there: delete and purge that ${singular(taken)}, or restore into another vault`,
        ...(taken === i.kind ? {} : { heldBy: taken }),
      };
    const held = holders(i.kind).find((k) => deleted.get(k)?.has(n));
    if (held) {
      const k = singular(held);
      return {
        kind: i.kind,
        name: i.name,
        action: "skip-deleted",
        detail: `a soft-deleted ${k} holds the name: recover it (az keyvault ${k} recover --name ${i.name} --vault-name <target>) or purge it (az keyvault ${k} purge ...) and restore again`,
      };
    }
    return { kind: i.kind, name: i.name, action: "restore" };
  });
  return [...plan, ...missing(manifest, filters, plan)];
}
