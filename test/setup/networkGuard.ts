import dns from "node:dns";
import net from "node:net";

/** Loopback only: 127.0.0.0/8, ::1, localhost. */
export const isLoopback = (host: string): boolean => {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  return h === "localhost" || h === "::1" || h === "::ffff:127.0.0.1" || /^127\.\d+\.\d+\.\d+$/.test(h);
};

// Plain TypeScript only (no parameter properties): the package tests' worker stand-in loads this file
// with Node's own type stripping, outside vitest.
export class NetworkGuardError extends Error {
  readonly host: string;
  constructor(host: string) {
    super(
      `network guard: blocked a connection to non-loopback host '${host}'. Tests may only reach 127.0.0.1/::1/localhost.`,
    );
    this.host = host;
  }
}

export const blocked: string[] = [];
let installed = false;

type ConnectArgs = unknown[];

export function targetOf(args: ConnectArgs): { host?: string; path?: string } {
  let first = args[0];
  // Node passes already-normalised [options, cb] arrays between its own layers.
  if (Array.isArray(first)) first = first[0];
  if (first && typeof first === "object") {
    const o = first as { host?: unknown; path?: unknown };
    return {
      ...(typeof o.host === "string" ? { host: o.host } : {}),
      ...(typeof o.path === "string" ? { path: o.path } : {}),
    };
  }
  if (typeof first === "number" || (typeof first === "string" && /^\d+$/.test(first))) {
    return typeof args[1] === "string" ? { host: args[1] } : {};
  }
  if (typeof first === "string") return { path: first };
  return {};
}

/**
 * Makes any TCP connection or DNS lookup to a non-loopback host throw, so a test that would reach
 * Azure (e.g. DefaultAzureCredential probing 169.254.169.254) fails loudly instead of sending traffic.
 * mode "unreachable" fails it the way a network without a route does instead (the socket's error
 * event, the lookup's callback, on a later tick): for a whole app in a process of its own, whose
 * libraries handle a failed connection but not a throwing one.
 */
export function installNetworkGuard(mode: "throw" | "unreachable" = "throw"): void {
  if (installed) return;
  installed = true;
  const unreachable = (host: string, code: string): NodeJS.ErrnoException =>
    Object.assign(new Error(`${new NetworkGuardError(host).message} (${code})`), { code });
  const connect = net.Socket.prototype.connect as (...a: ConnectArgs) => net.Socket;
  net.Socket.prototype.connect = function guardedConnect(this: net.Socket, ...args: ConnectArgs) {
    const { host, path } = targetOf(args);
    if (!path && !isLoopback(host ?? "localhost")) {
      blocked.push(host ?? "");
      if (mode === "throw") throw new NetworkGuardError(host ?? "");
      process.nextTick(() => this.destroy(unreachable(host ?? "", "ENETUNREACH")));
      return this;
    }
    return connect.apply(this, args);
  } as typeof net.Socket.prototype.connect;

  const lookup = dns.lookup as (...a: unknown[]) => void;
  (dns as { lookup: unknown }).lookup = function guardedLookup(hostname: unknown, ...rest: unknown[]) {
    if (typeof hostname === "string" && !isLoopback(hostname) && net.isIP(hostname) === 0) {
      blocked.push(hostname);
      if (mode === "throw") throw new NetworkGuardError(hostname);
      const callback = rest.at(-1);
      if (typeof callback === "function")
        process.nextTick(() => callback(unreachable(hostname, "ENOTFOUND")));
      return undefined;
    }
    return lookup.call(dns, hostname, ...rest);
  };
}
