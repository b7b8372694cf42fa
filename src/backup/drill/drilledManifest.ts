import type { Manifest } from "../../domain/manifest.js";
import type { SignalLike } from "../../domain/signal.js";
import type { Kind } from "../../domain/vocabulary.js";
import { findRun } from "../catalog/findRun.js";
import type { EngineDeps } from "../deps.js";
import { asOf } from "../restore/asOf.js";

/**
 * What a drill restores: the vault's newest committed run; with a time, the vault as it was then —
 * the newest run finished by then, each object an event backup holds since that run started (and
 * by then) from that backup, as `restore --at` restores it.
 */
export async function drilledManifest(
  deps: EngineDeps,
  vault: string,
  at: string | undefined,
  signal?: SignalLike,
): Promise<{ manifest: Manifest; unused: { kind: Kind; name: string; why: string }[] }> {
  if (!at) return { manifest: (await findRun(deps, "latest", vault, signal)).manifest, unused: [] };
  const when = new Date(at);
  const { run, sources } = await asOf(deps, await findRun(deps, "latest", vault, signal, when), when, signal);
  // An event backup by then that says no SHA-256 is not used: the restore is not the vault as it
  // was for that object (an older copy, or none), and the drill must not call it proved.
  const unused = [...sources]
    .filter(([, source]) => source.includes("is not used"))
    .map(([key, why]) => {
      const [kind, ...name] = key.split("/");
      return { kind: kind as Kind, name: name.join("/"), why };
    });
  return { manifest: run.manifest, unused };
}
