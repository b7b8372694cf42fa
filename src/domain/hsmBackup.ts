import type { Tier } from "./vocabulary.js";

/**
 * Managed HSM full backups. The HSM itself writes its backup, into a folder it names
 * (mhsm-{name}-{timestamp}) at the root of the container it is given: the container cannot carry a
 * tier prefix, so each tier has a container of its own ({BACKUP_CONTAINER}-hsm-{tier}) and the
 * lifecycle rules age each container as they age {tier}/ in the main one. The run's manifest sits
 * in the main container at the usual {tier}/{hsm}/.../{runId}/manifest.json, so list, show, verify
 * and latest treat HSM runs like vault runs.
 */
export const hsmContainer = (container: string, tier: Tier): string => `${container}-hsm-${tier}`;

/** A long-running job as the HSM reports it (FullBackupOperation / RestoreOperation). */
export interface HsmJobState {
  jobId: string;
  status: "InProgress" | "Succeeded" | "Canceled" | "Failed";
  statusDetails?: string;
  error?: { code?: string; message?: string; innerCode?: string };
  /** A finished backup: the container URI with the folder the HSM chose as its last segment. */
  folderUri?: string;
  /** The service's Retry-After, when it sent one. */
  retryAfterMs?: number;
}

/** What a run recorded of the folder the HSM wrote: every file, with the SHA-256 the app read back at commit. */
export interface HsmBackupRecord {
  jobId: string;
  container: string;
  folder: string;
  files: { name: string; bytes: number; sha256: string }[];
}

/** The folder name a finished job reports: the last path segment of azureStorageBlobContainerUri. */
export function folderOf(folderUri: string): string | undefined {
  try {
    const segments = new URL(folderUri).pathname.split("/").filter(Boolean);
    return segments.length >= 2 ? decodeURIComponent(segments[segments.length - 1] as string) : undefined;
  } catch {
    return undefined;
  }
}

/** A folder name as an HSM writes it: never a path, never empty. */
export const HsmFolderPattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$/;
