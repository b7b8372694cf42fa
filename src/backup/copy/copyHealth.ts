import { copyDiagnosis, copyNotAppendOnly } from "../../diagnosis/copy.js";
import type { Diagnosis } from "../../domain/diagnosis.js";
import { KvBackupError } from "../../domain/errors.js";
import type { SignalLike } from "../../domain/signal.js";
import type { EngineDeps } from "../deps.js";

/** One check, shaped as /api/health's (backup/health.ts Check). */
interface Check {
  ok: boolean;
  diagnosis?: Diagnosis;
  notice?: string;
}

/** doctor and /api/health on the isolated copy: the path, the add right, and that delete and overwrite are refused. */
export interface CopyHealth extends Check {
  where: string;
  checks: { read: Check; add: Check; noDelete: Check; noOverwrite: Check };
}

/**
 * Proves the isolated copy as the app uses it, and that it is append-only for the app: lists the
 * container, adds a marker blob once (kept: the copy keeps everything), then tries to overwrite and
 * to delete it — both must be refused. Null when BACKUP_COPY_BLOB_URI is not set.
 */
export async function copyHealth(deps: EngineDeps, signal?: SignalLike): Promise<CopyHealth | null> {
  const copy = deps.copy;
  if (!copy) return null;
  const r = await copy.check(signal);
  const where = copy.where;
  const failed = (e: KvBackupError): Check => ({ ok: false, diagnosis: copyDiagnosis(e, where) });
  const skipped: Check = { ok: false, notice: "not checked: the app could not add its marker blob" };
  const refusal = (got: typeof r.remove | typeof r.overwrite, done: "deleted" | "overwritten"): Check =>
    got instanceof KvBackupError
      ? failed(got)
      : got === "skipped"
        ? skipped
        : got === "refused"
          ? { ok: true }
          : {
              ok: false,
              diagnosis: copyNotAppendOnly(done, where, got === "retained"),
            };
  const checks = {
    read: r.read instanceof KvBackupError ? failed(r.read) : { ok: true },
    add: r.add instanceof KvBackupError ? failed(r.add) : { ok: true },
    noDelete: refusal(r.remove, "deleted"),
    noOverwrite: refusal(r.overwrite, "overwritten"),
  };
  const first = Object.values(checks).find((c) => !c.ok && c.diagnosis);
  return {
    ok: Object.values(checks).every((c) => c.ok),
    where,
    ...(first?.diagnosis ? { diagnosis: first.diagnosis } : {}),
    checks,
  };
}
