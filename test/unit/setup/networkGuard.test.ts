import net from "node:net";
import { DefaultAzureCredential } from "@azure/identity";
import { afterEach, describe, expect, it } from "vitest";
import { blocked, isLoopback, NetworkGuardError } from "../../setup/networkGuard.js";

const saved = { ...process.env };
afterEach(() => {
  process.env = { ...saved };
});

describe("the test network guard (installed by test/setup/guard.setup.ts)", () => {
  it("knows loopback", () => {
    for (const h of ["127.0.0.1", "127.8.9.10", "localhost", "::1", "[::1]"])
      expect(isLoopback(h)).toBe(true);
    for (const h of ["10.0.0.1", "169.254.169.254", "login.microsoftonline.com", "0.0.0.0"])
      expect(isLoopback(h)).toBe(false);
  });

  it("throws before any packet leaves for a non-loopback address", () => {
    expect(() => net.connect({ host: "10.11.12.13", port: 443 })).toThrow(NetworkGuardError);
    expect(() => net.connect(443, "192.0.2.1")).toThrow(NetworkGuardError);
  });

  it("turns DefaultAzureCredential's IMDS probe into a failure, not traffic", async () => {
    for (const k of [
      "IDENTITY_ENDPOINT",
      "IDENTITY_HEADER",
      "MSI_ENDPOINT",
      "MSI_SECRET",
      "AZURE_CLIENT_ID",
      "AZURE_TENANT_ID",
      "AZURE_CLIENT_SECRET",
      "AZURE_FEDERATED_TOKEN_FILE",
      "IMDS_ENDPOINT",
    ]) {
      delete process.env[k];
    }
    const before = blocked.length;
    await expect(new DefaultAzureCredential().getToken("https://vault.azure.net/.default")).rejects.toThrow();
    expect(blocked.slice(before)).toContain("169.254.169.254");
  }, 60_000);
});
