import { describe, expect, it } from "vitest";
import { isLoopbackVaultUrl, keyVaultClientOptions } from "../../../src/keyvault/clientOptions.js";

describe("keyVaultClientOptions", () => {
  it.each(["https://127.0.0.1:4443", "https://localhost:1", "https://[::1]:8443", "https://127.10.0.3"])(
    "turns the challenge resource check off for loopback %s",
    (url) => {
      expect(isLoopbackVaultUrl(url)).toBe(true);
      expect(keyVaultClientOptions(url)).toEqual({
        serviceVersion: "2025-07-01",
        disableChallengeResourceVerification: true,
      });
    },
  );

  it.each([
    "https://contoso-kv.vault.azure.net",
    "https://127.0.0.1.evil.example",
    "https://localhost.vault.azure.net",
    "not a url",
  ])("keeps it for %s", (url) => {
    expect(isLoopbackVaultUrl(url)).toBe(false);
    expect(keyVaultClientOptions(url)).toEqual({ serviceVersion: "2025-07-01" });
  });
});
