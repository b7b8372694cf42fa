import type { AzureFailure } from "../domain/azureFailure.js";
import type { Diagnosis, DiagnosisContext } from "../domain/diagnosis.js";
import { diagnoseArm } from "./arm.js";
import { diagnoseKeyVault } from "./keyVault.js";
import { diagnoseIdentity } from "./signIn.js";
import { diagnoseStorage } from "./storage.js";

const service = { storage: "Storage", keyvault: "Key Vault", arm: "Azure Resource Manager" } as const;

/** Azure error -> diagnosis, by status and error code; a pure function. */
export function diagnose(f: AzureFailure, ctx: DiagnosisContext = {}): Diagnosis {
  if (f.identity) return diagnoseIdentity(f.identity, f.service, ctx);
  const known =
    f.service === "storage"
      ? diagnoseStorage(f, ctx)
      : f.service === "keyvault"
        ? diagnoseKeyVault(f, ctx)
        : diagnoseArm(f, ctx);
  return (
    known ?? {
      code: "Unknown",
      cause: `${service[f.service]} answered ${f.status ?? f.networkCode ?? "no status"}${f.code ? ` ${f.code}` : ""}${f.innerCode ? `/${f.innerCode}` : ""}: ${f.message.split("\n")[0]?.slice(0, 300)}`,
      fix: "See docs/troubleshooting.md; if this keeps happening, open an issue with this code.",
    }
  );
}
