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

export function keyVaultClientOptions(vaultUrl: string): { disableChallengeResourceVerification?: true } {
  return isLoopbackVaultUrl(vaultUrl) ? { disableChallengeResourceVerification: true } : {};
}
