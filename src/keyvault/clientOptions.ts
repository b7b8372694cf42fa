/**
 * Key Vault clients check that the 401 challenge's resource matches the vault's domain.
 * A loopback vault (the local stack's emulator) can never match, so for loopback hosts only
 * the check is turned off; every real vault keeps it.
 */
export function isLoopbackVaultUrl(vaultUrl: string): boolean {
  let host: string;
  try {
    host = new URL(vaultUrl).hostname.replace(/^\[|\]$/g, "").toLowerCase();
  } catch {
    return false;
  }
  return host === "localhost" || host === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/**
 * The data-plane API version every client speaks: the newest stable one with a published spec
 * (azure-rest-api-specs stable/2025-07-01), which the local stack's emulator is verified against.
 * @azure/keyvault-secrets 4.12 would otherwise send 2026-04-01, a version with no published spec.
 */
export const KeyVaultApiVersion = "2025-07-01";

export function keyVaultClientOptions(vaultUrl: string): {
  serviceVersion: typeof KeyVaultApiVersion;
  disableChallengeResourceVerification?: true;
} {
  return {
    serviceVersion: KeyVaultApiVersion,
    ...(isLoopbackVaultUrl(vaultUrl) ? { disableChallengeResourceVerification: true } : {}),
  };
}
