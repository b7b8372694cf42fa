import type { Diagnosis } from "../../domain/diagnosis.js";
import type { DrillMismatch, DrillRow } from "../../domain/drill.js";
import type { Trigger } from "../../domain/vocabulary.js";

/** A drill asked for: of which vault's newest committed run, under which id, by what. */
export interface DrillRequest {
  vault: string;
  drillId: string;
  trigger: Trigger;
}

/** What a drill ends with: its row, every mismatch, and the diagnosis when it could not prove the run. */
export interface DrillResult extends DrillRow {
  /** Every mismatch (the row keeps the first 20). */
  mismatchList: DrillMismatch[];
  diagnosis?: Diagnosis;
}

export type DrillProgress = (phase: "restore" | "prove" | "clean", done: number, total: number) => void;
