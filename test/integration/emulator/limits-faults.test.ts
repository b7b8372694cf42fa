import { SecretClient } from "@azure/keyvault-secrets";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Stack } from "../../stack/stack.js";
import { identityCredential, kvOptions, rawCall, startTestStack } from "../helpers.js";

let stack: Stack;
let demo: string;
let token: string;

beforeAll(async () => {
  stack = await startTestStack();
  demo = stack.vaults.demo.url;
  token = stack.identity.mint(stack.identities.admin, "https://vault.azure.net");
});
afterAll(async () => {
  await stack?.stop();
});

const burst = (n: number, path = "/secrets/feature-flags") =>
  Promise.all(Array.from({ length: n }, () => rawCall(`${demo}${path}?api-version=2025-07-01`, { token })));

describe("throttling", () => {
  it("answers over-limit requests with the real Throttled 429 and no Retry-After by default", async () => {
    stack.emulator.setLimits("demo-vault", { perTenSeconds: 20 });
    // Latency keeps requests in flight together, so peak concurrency is observable.
    stack.emulator.setLatency("demo-vault", { fixedMs: 30 });
    stack.emulator.resetStats("demo-vault");
    try {
      const results = await burst(40);
      const throttled = results.filter((r) => r.status === 429);
      expect(throttled.length).toBeGreaterThanOrEqual(15);
      expect(results.filter((r) => r.status === 200).length).toBeGreaterThanOrEqual(20);
      const first = throttled[0];
      expect(first?.json).toEqual({
        error: {
          code: "Throttled",
          message:
            "Request was not processed because too many requests were received. Reason: VaultRequestTypeLimitReached",
        },
      });
      expect(first?.headers.get("retry-after")).toBeNull();
      const stats = stack.emulator.stats("demo-vault");
      expect(stats.throttled).toBe(throttled.length);
      expect(stats.byOperationStatus["GetSecret 429"]).toBe(throttled.length);
      expect(stats.peakInflight).toBeGreaterThan(1);
    } finally {
      stack.emulator.setLimits("demo-vault", { perTenSeconds: 4000 });
      stack.emulator.setLatency("demo-vault", { fixedMs: 0 });
    }
  });

  it("sends Retry-After when asked to", async () => {
    stack.emulator.setLimits("demo-vault", { perTenSeconds: 5, retryAfter: true });
    try {
      const results = await burst(10);
      const throttled = results.find((r) => r.status === 429);
      expect(Number(throttled?.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    } finally {
      stack.emulator.setLimits("demo-vault", { perTenSeconds: 4000, retryAfter: false });
    }
  });

  it("creates spend a smaller class budget as well", async () => {
    stack.emulator.setLimits("demo-vault", { createPerTenSeconds: 3 });
    try {
      const results = await Promise.all(
        Array.from({ length: 6 }, (_, i) =>
          rawCall(`${demo}/keys/burst-${i}/create?api-version=2025-07-01`, {
            method: "POST",
            token,
            body: { kty: "EC" },
          }),
        ),
      );
      expect(results.filter((r) => r.status === 429).length).toBeGreaterThanOrEqual(2);
      expect((await burst(3)).every((r) => r.status === 200)).toBe(true);
    } finally {
      stack.emulator.setLimits("demo-vault", { createPerTenSeconds: 300 });
    }
  });
});

describe("faults and latency", () => {
  it("answers 503 at the configured rate, and the SDK's own retries get through", async () => {
    stack.emulator.setFaults("demo-vault", { errorRate: 1, errorStatus: 503 });
    const r = await rawCall(`${demo}/secrets?api-version=2025-07-01`, { token });
    expect(r.status).toBe(503);
    stack.emulator.setFaults("demo-vault", { errorRate: 0.5 });
    stack.emulator.resetStats("demo-vault");
    try {
      const client = new SecretClient(demo, identityCredential(stack.identities.admin.clientId), {
        ...kvOptions,
        retryOptions: { maxRetries: 10, retryDelayInMs: 1, maxRetryDelayInMs: 5 },
      });
      for (let i = 0; i < 5; i++) expect((await client.getSecret("feature-flags")).value).toContain("beta");
      expect(stack.emulator.stats("demo-vault").byStatus["503"] ?? 0).toBeGreaterThan(0);
    } finally {
      stack.emulator.setFaults("demo-vault", { errorRate: 0 });
    }
  });

  it("drops connections without an answer", async () => {
    stack.emulator.setFaults("demo-vault", { dropRate: 1 });
    try {
      await expect(rawCall(`${demo}/secrets?api-version=2025-07-01`, { token })).rejects.toThrow();
      expect(stack.emulator.stats("demo-vault").dropped).toBeGreaterThan(0);
    } finally {
      stack.emulator.setFaults("demo-vault", { dropRate: 0 });
    }
  });

  it("adds latency", async () => {
    stack.emulator.setLatency("demo-vault", { fixedMs: 60, jitterMs: 0 });
    try {
      const t0 = performance.now();
      await rawCall(`${demo}/secrets/feature-flags?api-version=2025-07-01`, { token });
      expect(performance.now() - t0).toBeGreaterThanOrEqual(55);
    } finally {
      stack.emulator.setLatency("demo-vault", { fixedMs: 0 });
    }
  });
});
