import { describe, expect, it } from "vitest";
import { evaluateNetwork } from "../../stack/keyvault/network.js";
import { TokenBucket } from "../../stack/keyvault/throttle.js";

describe("token bucket", () => {
  it("allows the limit per window, then refills continuously", () => {
    const b = new TokenBucket(10, 10_000);
    const t0 = Date.now();
    let ok = 0;
    for (let i = 0; i < 15; i++) if (b.take(t0)) ok++;
    expect(ok).toBe(10);
    expect(b.take(t0 + 500)).toBe(false);
    expect(b.take(t0 + 1000)).toBe(true);
    expect(b.secondsUntilToken(t0 + 1000)).toBeGreaterThanOrEqual(1);
  });
});

describe("network rules", () => {
  const rules = {
    publicNetworkAccess: "Enabled" as const,
    defaultAction: "Deny" as const,
    ipRules: ["10.1.0.0/16", "192.168.1.7"],
  };
  it("applies CIDR and single-address rules", () => {
    expect(evaluateNetwork(rules, "10.1.200.3")).toBe("allow");
    expect(evaluateNetwork(rules, "10.2.0.1")).toBe("firewall");
    expect(evaluateNetwork(rules, "192.168.1.7")).toBe("allow");
    expect(evaluateNetwork({ ...rules, defaultAction: "Allow" }, "8.8.8.8")).toBe("allow");
    expect(evaluateNetwork({ ...rules, publicNetworkAccess: "Disabled" }, "10.1.0.1")).toBe(
      "publicAccessDisabled",
    );
  });
});
