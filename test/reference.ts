import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";

/**
 * shared/reference (Azure ground truth) sits beside the repository, as in CI.
 * KVBACKUP_REFERENCE_DIR points elsewhere when it does not.
 */
export function referenceDir(): string {
  const dir =
    process.env.KVBACKUP_REFERENCE_DIR ?? resolve(import.meta.dirname, "..", "..", "shared", "reference");
  if (!existsSync(join(dir, "keyvault"))) {
    throw new Error(
      `Azure reference data not found at ${dir}: clone next to ../shared or set KVBACKUP_REFERENCE_DIR`,
    );
  }
  return dir;
}

export const readReference = (...parts: string[]): Buffer => readFileSync(join(referenceDir(), ...parts));
export const readReferenceJson = <T>(...parts: string[]): T =>
  JSON.parse(readReference(...parts).toString("utf8")) as T;
