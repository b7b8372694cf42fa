import type { DiagnosisContext } from "../domain/diagnosis.js";

/**
 * How a diagnosis names the vault it is about: a Managed HSM as one (its data plane answers with Key
 * Vault's error shapes, not its name), a Key Vault as itself.
 */
export const vaultNamed = (vault: string, ctx: DiagnosisContext): string =>
  ctx.hsm ? `Managed HSM '${ctx.hsm}'` : `Key Vault '${vault}'`;
