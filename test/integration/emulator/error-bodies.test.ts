import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readReferenceJson } from "../../reference.js";
import type { Stack } from "../../stack/stack.js";
import { rawCall, startTestStack } from "../helpers.js";

interface RefError {
  id: string;
  status: number;
  headers?: Record<string, string>;
  body?: { error: { code: string; message: string; innererror?: { code: string } } };
  body_template?: { error: { code: string; message: string; innererror?: { code: string } } };
  body_text?: string;
}

const reference = readReferenceJson<{ errors: RefError[] }>(
  "keyvault",
  "errors",
  "keyvault-error-bodies.json",
).errors;
const ref = (id: string): RefError => {
  const e = reference.find((x) => x.id === id);
  if (!e) throw new Error(`reference error ${id} missing`);
  return e;
};

/** A regex from a reference message: identifiers in it become wildcards, the rest must match exactly. */
function pattern(message: string, variable: RegExp[]): RegExp {
  let marked = message;
  for (const v of variable) marked = marked.replace(new RegExp(v.source, "g"), "\u0000");
  const escaped = marked.replace(/[.*+?^${}()|[\]\\]/g, "\\$&").replaceAll("\u0000", ".+?");
  return new RegExp(`^${escaped}$`);
}

const guid = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12,13}/;
const angle = /<[a-z]+>/;

let stack: Stack;
let url: string;
let admin: string;
let none: string;
const api = "api-version=2025-07-01";

type Body = { error: { code: string; message: string; innererror?: { code: string } } };
const call = async (path: string, init: Parameters<typeof rawCall>[1] = {}) => {
  const r = await rawCall(`${url}${path}${path.includes("?") ? "&" : "?"}${api}`, init);
  return { ...r, body: r.json as Body };
};

beforeAll(async () => {
  stack = await startTestStack();
  url = stack.vaults.demo.url;
  admin = stack.identity.mint(stack.identities.admin, "https://vault.azure.net");
  none = stack.identity.mint(stack.identities.none, "https://vault.azure.net");
});
afterAll(async () => {
  await stack?.stop();
});

describe("every Key Vault error body in shared/reference has its twin in the emulator", () => {
  it("401-no-token-current: exact body, length and challenge", async () => {
    const r = await call("/secrets");
    const e = ref("401-no-token-current");
    expect(r.status).toBe(e.status);
    expect(r.body).toEqual(e.body);
    expect(r.headers.get("content-length")).toBe(e.headers?.["Content-Length"]);
    expect(r.headers.get("www-authenticate")).toMatch(
      /^Bearer authorization="https:\/\/login\.windows\.net\/[0-9a-f-]{36}", resource="https:\/\/vault\.azure\.net"$/,
    );
    expect(r.headers.get("content-type")).toBe(e.headers?.["Content-Type"]);
  });

  it("401-no-token-2021-02: same code, message ends the same", async () => {
    const r = await call("/secrets/x", { method: "PUT", body: { value: "v" } });
    expect(r.body.error.code).toBe(ref("401-no-token-2021-02").body?.error.code);
    expect(r.body.error.message.endsWith(ref("401-no-token-2021-02").body?.error.message as string)).toBe(
      true,
    );
  });

  it("409-restore-name-in-use", async () => {
    const backup = await call("/secrets/feature-flags/backup", { method: "POST", token: admin });
    const r = await call("/secrets/restore", {
      method: "POST",
      token: admin,
      body: { value: (backup.json as { value: string }).value },
    });
    const e = ref("409-restore-name-in-use").body as Body;
    expect(r.status).toBe(409);
    expect(r.body.error.code).toBe(e.error.code);
    expect(r.body.error.innererror).toBeUndefined();
    expect(r.body.error.message).toMatch(pattern(e.error.message, [/'https:\/\/keyvault_name[^']+'/]));
  });

  it("409-create-while-soft-deleted", async () => {
    await call("/keys/soft-deleted/create", { method: "POST", token: admin, body: { kty: "EC" } });
    await call("/keys/soft-deleted", { method: "DELETE", token: admin });
    const r = await call("/keys/soft-deleted/create", { method: "POST", token: admin, body: { kty: "EC" } });
    const e = ref("409-create-while-soft-deleted").body as Body;
    expect(r.status).toBe(409);
    expect(r.body.error.innererror).toEqual(e.error.innererror);
    expect(r.body.error.message).toBe(e.error.message.replaceAll("CreateDeletedKey", "soft-deleted"));
  });

  it("409-create-while-being-deleted and 404-deleted-not-found (deletion still running)", async () => {
    stack.emulator.setTiming("demo-vault", { deleteMs: 60_000 });
    try {
      await call("/keys/being-deleted/create", { method: "POST", token: admin, body: { kty: "EC" } });
      await call("/keys/being-deleted", { method: "DELETE", token: admin });
      const r = await call("/keys/being-deleted/create", {
        method: "POST",
        token: admin,
        body: { kty: "EC" },
      });
      const e = ref("409-create-while-being-deleted").body as Body;
      expect(r.body.error.innererror).toEqual(e.error.innererror);
      expect(r.body.error.message).toBe(
        e.error.message.replaceAll("CreateDeletedKeyBeforePollComplete", "being-deleted"),
      );
      await call("/secrets/being-deleted", { method: "PUT", token: admin, body: { value: "v" } });
      await call("/secrets/being-deleted", { method: "DELETE", token: admin });
      const nf = await call("/deletedsecrets/being-deleted", { token: admin });
      const e404 = ref("404-deleted-not-found");
      expect(nf.status).toBe(404);
      expect(nf.body).toEqual({
        error: { ...(e404.body as Body).error, message: "Deleted Secret not found: being-deleted" },
      });
    } finally {
      stack.emulator.setTiming("demo-vault", { deleteMs: 0 });
    }
  });

  it("409-set-while-being-recovered", async () => {
    stack.emulator.setTiming("demo-vault", { recoverMs: 60_000 });
    try {
      await call("/secrets/being-recovered", { method: "PUT", token: admin, body: { value: "v" } });
      await call("/secrets/being-recovered", { method: "DELETE", token: admin });
      await call("/deletedsecrets/being-recovered/recover", { method: "POST", token: admin });
      const r = await call("/secrets/being-recovered", { method: "PUT", token: admin, body: { value: "w" } });
      const e = ref("409-set-while-being-recovered").body as Body;
      expect(r.status).toBe(409);
      expect(r.body.error.innererror).toEqual(e.error.innererror);
      expect(r.body.error.message).toBe(
        e.error.message.replaceAll("gitea-maintre2-administrator-password", "being-recovered"),
      );
    } finally {
      stack.emulator.setTiming("demo-vault", { recoverMs: 0 });
    }
  });

  it("403-rbac: every line of the template, in order", async () => {
    const r = await call("/secrets/feature-flags", { token: none });
    const e = ref("403-rbac").body_template as Body;
    expect(r.status).toBe(403);
    expect(r.body.error.code).toBe(e.error.code);
    expect(r.body.error.innererror).toEqual(e.error.innererror);
    expect(r.body.error.message).toMatch(
      pattern(e.error.message.replace("secrets/getSecret/action", "<action>"), [angle]),
    );
    expect(r.body.error.message).toContain("Action: 'Microsoft.KeyVault/vaults/secrets/getSecret/action'");
  });

  it("403-access-policy", async () => {
    const { url: pv } = await stack.emulator.createVault("ap-vault", {
      authorization: "accessPolicy",
      location: "germanywestcentral",
    });
    const r = await rawCall(`${pv}/secrets/x?${api}`, { token: none });
    const body = r.json as Body;
    const e = ref("403-access-policy").body as Body;
    expect(r.status).toBe(403);
    expect(body.error.innererror).toEqual(e.error.innererror);
    expect(body.error.message).toMatch(pattern(e.error.message.replace("someakv", "<vault>"), [guid, angle]));
  });

  it("403-firewall and 403-public-network-disabled", async () => {
    stack.emulator.setNetwork("demo-vault", { defaultAction: "Deny" });
    try {
      const r = await call("/secrets", { token: admin });
      const e = ref("403-firewall").body as Body;
      expect(r.body.error.innererror).toEqual(e.error.innererror);
      expect(r.body.error.message).toMatch(
        pattern(e.error.message, [/165\.225\.37\.25/, guid, /kv-0000-cosmosd-dev-760/, /eastus/]),
      );
      stack.emulator.setNetwork("demo-vault", { publicNetworkAccess: "Disabled" });
      const c = await call("/secrets", { token: admin });
      const ec = ref("403-public-network-disabled").body as Body;
      expect(c.body.error.innererror).toEqual(ec.error.innererror);
      expect(c.body.error.message).toMatch(pattern(ec.error.message, [guid, /someakv/, /southafricanorth/]));
    } finally {
      stack.emulator.setNetwork("demo-vault", { defaultAction: "Allow", publicNetworkAccess: "Enabled" });
    }
  });

  it("403-backup-certificate-backed-key (and its secret twin)", async () => {
    const r = await call("/keys/www-contoso-com/backup", { method: "POST", token: admin });
    const text = ref("403-backup-certificate-backed-key").body_text as string;
    expect(r.status).toBe(403);
    expect(`Code: ${r.body.error.code} Message: ${r.body.error.message}`).toBe(text);
    const s = await call("/secrets/www-contoso-com/backup", { method: "POST", token: admin });
    expect(s.body.error.innererror?.code).toBe("SecretManagedByKeyVault");
  });

  it("429-throttled: exact body and length, no Retry-After", async () => {
    stack.emulator.setLimits("demo-vault", { perTenSeconds: 1 });
    try {
      await call("/secrets", { token: admin });
      const r = await call("/secrets", { token: admin });
      const e = ref("429-throttled");
      expect(r.status).toBe(429);
      expect(r.body).toEqual(e.body);
      expect(r.headers.get("content-length")).toBe(e.headers?.["Content-Length"]);
      expect(r.headers.get("retry-after")).toBeNull();
    } finally {
      stack.emulator.setLimits("demo-vault", { perTenSeconds: 4000 });
    }
  });

  it("covers every reference entry except the one the emulator does not model", () => {
    // 403-key-operation-not-allowed needs cryptographic operations (decrypt), which kvbackup never calls.
    const covered = [
      "401-no-token-current",
      "401-no-token-2021-02",
      "409-restore-name-in-use",
      "409-create-while-soft-deleted",
      "409-create-while-being-deleted",
      "409-set-while-being-recovered",
      "404-deleted-not-found",
      "403-rbac",
      "403-access-policy",
      "403-firewall",
      "403-public-network-disabled",
      "403-backup-certificate-backed-key",
      "429-throttled",
    ];
    expect(reference.map((e) => e.id).filter((id) => !covered.includes(id))).toEqual([
      "403-key-operation-not-allowed",
    ]);
  });
});
