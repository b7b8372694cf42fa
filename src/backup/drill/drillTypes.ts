import type { VaultRef } from "../../domain/config.js";
import type { Diagnosis } from "../../domain/diagnosis.js";
import type { DrillMismatch, DrillRow } from "../../domain/drillRecord.js";
import type { SignalLike } from "../../domain/signal.js";
import type { Trigger } from "../../domain/vocabulary.js";
import type { EngineDeps } from "../deps.js";

/** A drill asked for: of which vault's newest committed run, under which id, by what. */
export interface DrillRequest {
  vault: string;
  drillId: string;
  trigger: Trigger;
  /**
   * A point in time (ISO 8601): the vault as it was then — the newest run finished by then with
   * continuous protection's event backups taken since, as `restore --at` restores it — is drilled.
   */
  at?: string;
  /** "copy": the run (and its blobs) read from the isolated copy, to prove the copy restores. */
  from?: "copy";
}

/** What a drill ends with: its row, every mismatch, and the diagnosis when it could not prove the run. */
export interface DrillResult extends DrillRow {
  /** Every mismatch (the row keeps the first 20). */
  mismatchList: DrillMismatch[];
  diagnosis?: Diagnosis;
}

export type DrillProgress = (phase: "restore" | "prove" | "clean", done: number, total: number) => void;

/** One drill under way: what it drills, where, its row as it grows, and how it ends. */
export interface DrillWork {
  deps: EngineDeps;
  /** Where the drilled run and its blobs are read: the backup account, or the isolated copy. */
  source: EngineDeps;
  /** The vault whose run is drilled. */
  vault: VaultRef;
  scratch: VaultRef;
  row: DrillRow;
  mismatchList: DrillMismatch[];
  /** Every way a drill ends goes through this: the row final, the event. */
  end: (status: DrillRow["status"], diagnosis?: Diagnosis) => Promise<DrillResult>;
  signal: SignalLike;
  onProgress?: DrillProgress | undefined;
}

/** The drill's hands: the scratch vault (restore into it, inspect and empty it) and the source (inspect). */
export interface DrillPorts {
  port: ReturnType<EngineDeps["vaults"]>;
  inspector: ReturnType<EngineDeps["inspect"]>;
  source: ReturnType<EngineDeps["inspect"]>;
}
