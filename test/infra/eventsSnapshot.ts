import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

/**
 * The snapshots npm run infra:check makes of test/infra/params/*.bicepparam, read as
 * infra.test.ts reads them, for events.test.ts: every resource a deployment would create, with the
 * parameters applied; values known only at deploy time stay ARM expressions.
 */
export type Json = Record<string, unknown>;
const root = join(import.meta.dirname, "..", "..");
export const built = join(root, ".local", "infra");
const snapshots = new Map<string, Json[]>();

/** Runs infra:check when one of the artifacts is missing, then reads the named snapshots. */
export const loadSnapshots = (names: string[], artifacts: string[]): void => {
  if (artifacts.some((f) => !existsSync(join(built, f))))
    execFileSync("bash", [join(root, "infra", "check.sh")], { stdio: "inherit" });
  for (const name of names) {
    const s = JSON.parse(readFileSync(join(built, `${name}.snapshot.json`), "utf8")) as Json;
    snapshots.set(name, s.predictedResources as Json[]);
  }
};

export const resources = (set: string): Json[] => snapshots.get(set) ?? [];
export const ofType = (set: string, type: string): Json[] => resources(set).filter((r) => r.type === type);
export const props = (r: Json | undefined): Json => (r?.properties ?? {}) as Json;
export const at = (o: unknown, ...path: string[]): unknown =>
  path.reduce<unknown>((v, k) => (v as Json | undefined)?.[k], o);

export const appSettings = (set: string): Record<string, string> =>
  Object.fromEntries(
    (at(ofType(set, "Microsoft.Web/sites")[0], "properties", "siteConfig", "appSettings") as Json[]).map(
      (s) => [String(s.name), String(s.value)],
    ),
  );

/** A role assignment's scope, from its id: a path, or the scope an ARM expression names. */
const scopeOf = (id: string): string => {
  const ext = id.match(/^\[extensionResourceId\('([^']+)'/);
  if (ext) return ext[1] as string;
  const group = id.match(/^\[resourceId\('([^']+)', '([^']+)', 'Microsoft\.Authorization\/roleAssignments'/);
  if (group) return `/subscriptions/${group[1]}/resourceGroups/${group[2]}`;
  return id.slice(0, id.indexOf("/providers/Microsoft.Authorization/"));
};

/** Who an assignment is for: `topic:<name>`, `policy`, `app`, or the literal principal id. */
const whoOf = (principal: string): string => {
  const topic = principal.match(/systemTopics\/([^']+)'/);
  if (topic) return `topic:${topic[1]}`;
  if (principal.includes("/policyAssignments/")) return "policy";
  if (principal.includes("/Microsoft.Web/sites/")) return "app";
  return principal;
};

export const assignments = (set: string) =>
  ofType(set, "Microsoft.Authorization/roleAssignments").map((a) => ({
    scope: scopeOf(String(a.id)),
    who: whoOf(String(props(a).principalId)),
    role: String(props(a).roleDefinitionId).split("/").pop() as string,
    condition: props(a).condition as string | undefined,
    conditionVersion: props(a).conditionVersion,
  }));
