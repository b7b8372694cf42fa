import type { Kind } from "../config.js";
import type { Diagnosis } from "../diagnosis.js";

export type Tier = "daily" | "weekly" | "manual";
export type Trigger = "timer" | "http" | "cli";
export type RunStatus = "succeeded" | "partial" | "failed";

export interface ManifestItem {
  kind: Kind;
  name: string;
  blob: string;
  bytes: number;
  sha256: string;
  version: string;
  updatedOn?: string;
  enabled: boolean;
  contentType?: string;
  tags?: Record<string, string>;
}

export interface ManifestSkip {
  kind: Kind;
  name: string;
  reason: "managed-by-certificate" | "deleted-during-run";
}

export interface ManifestFailure {
  kind: Kind;
  /** "*" when listing the kind failed. */
  name: string;
  code: string;
  message: string;
  diagnosis: Diagnosis;
}

/** manifest.json, schemaVersion 1: written last, its presence means the run committed. Never a secret value. */
export interface Manifest {
  schemaVersion: 1;
  runId: string;
  vault: { name: string; url: string };
  tier: Tier;
  trigger: Trigger;
  startedAt: string;
  finishedAt: string;
  status: RunStatus;
  items: ManifestItem[];
  skipped: ManifestSkip[];
  failed: ManifestFailure[];
}

/** Blob paths: {tier}/{vault}/{yyyy}/{mm}/{dd}/{runId}/... (lifecycle rules match on the tier). */
export function runPrefix(tier: Tier, vault: string, runId: string): string {
  const y = runId.slice(0, 4);
  const m = runId.slice(4, 6);
  const d = runId.slice(6, 8);
  return `${tier}/${vault}/${y}/${m}/${d}/${runId}/`;
}

export const objectBlob = (prefix: string, kind: Kind, name: string): string =>
  `${prefix}${kind}/${name}.kvbak`;
export const manifestBlob = (prefix: string): string => `${prefix}manifest.json`;
