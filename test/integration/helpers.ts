import { readFileSync } from "node:fs";
import { join } from "node:path";
import { DefaultAzureCredential, ManagedIdentityCredential, type TokenCredential } from "@azure/identity";
import { type Stack, startStack } from "../stack/stack.js";
import type { StackTls } from "../stack/tls.js";

/** TLS made by vitest.config.ts for this run (its CA is in NODE_EXTRA_CA_CERTS). */
export function testTls(): StackTls {
  const dir = process.env.KVBACKUP_TEST_TLS_DIR;
  if (!dir) throw new Error("KVBACKUP_TEST_TLS_DIR is not set: run the tests through vitest.config.ts");
  return {
    caPem: readFileSync(join(dir, "ca.pem"), "utf8"),
    certPem: readFileSync(join(dir, "cert.pem"), "utf8"),
    keyPem: readFileSync(join(dir, "key.pem"), "utf8"),
  };
}

/**
 * Starts a private stack for one test file and points this process's environment at it, as
 * sourcing .local/stack.env would (IDENTITY_ENDPOINT + IDENTITY_HEADER make DefaultAzureCredential
 * use the local managed identity and never probe IMDS).
 */
export async function startTestStack(options: { seed?: boolean } = {}): Promise<Stack> {
  const dir = join(
    process.env.KVBACKUP_TEST_TLS_DIR as string,
    `stack-${process.pid}-${Math.random().toString(36).slice(2)}`,
  );
  const stack = await startStack({ dir, tls: testTls(), writeEnv: false, ...options });
  for (const [k, v] of Object.entries(stack.env)) {
    if (k !== "NODE_EXTRA_CA_CERTS") process.env[k] = v;
  }
  return stack;
}

/** The production credential, unchanged. */
export const appCredential = (): TokenCredential => new DefaultAzureCredential();
/** A user-assigned identity of the stack (e.g. the admin, or one without roles). */
export const identityCredential = (clientId: string): TokenCredential =>
  new ManagedIdentityCredential({ clientId });

/** Loopback vault hosts are not *.vault.azure.net, so the challenge's resource check is off (as the app does for loopback only). */
export const kvOptions = { disableChallengeResourceVerification: true } as const;

/** A raw HTTPS call, for asserting exact statuses, headers and bodies. */
export async function rawCall(
  url: string,
  init: { method?: string; token?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<{ status: number; headers: Headers; json: unknown; text: string }> {
  const res = await fetch(url, {
    method: init.method ?? "GET",
    headers: {
      ...(init.token ? { authorization: `Bearer ${init.token}` } : {}),
      ...(init.body !== undefined ? { "content-type": "application/json" } : {}),
      ...init.headers,
    },
    ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, json, text };
}
