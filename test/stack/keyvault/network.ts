import type { NetworkRules } from "./vault.js";

const toInt = (ip: string): number | undefined => {
  const parts = ip.split(".").map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) return undefined;
  return parts.reduce((acc, p) => acc * 256 + p, 0);
};

/** Normalises "::ffff:127.0.0.1" and "::1" to what the service would report. */
export const clientAddress = (remote: string | undefined): string => {
  if (!remote) return "0.0.0.0";
  if (remote.startsWith("::ffff:")) return remote.slice(7);
  if (remote === "::1") return "127.0.0.1";
  return remote;
};

function inRule(ip: string, rule: string): boolean {
  const [base, bitsText] = rule.split("/");
  const addr = toInt(ip);
  const net = toInt(base ?? "");
  if (addr === undefined || net === undefined) return false;
  const bits = bitsText === undefined ? 32 : Number(bitsText);
  if (!Number.isInteger(bits) || bits < 0 || bits > 32) return false;
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  return (addr & mask) >>> 0 === (net & mask) >>> 0;
}

export type NetworkDecision = "allow" | "firewall" | "publicAccessDisabled";

export function evaluateNetwork(rules: NetworkRules, address: string): NetworkDecision {
  if (rules.publicNetworkAccess === "Disabled") return "publicAccessDisabled";
  if (rules.defaultAction === "Allow") return "allow";
  return rules.ipRules.some((r) => inRule(address, r)) ? "allow" : "firewall";
}
