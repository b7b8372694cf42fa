import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { StackCaMarker, stackCaFile } from "../../stack/caBundle.js";
import { createStackTls } from "../../stack/tls.js";

const exec = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), "kvbackup-ca-"));
const servers: Server[] = [];
afterAll(async () => {
  for (const s of servers) await new Promise((r) => s.close(r));
  rmSync(dir, { recursive: true, force: true });
});

/** An HTTPS server on loopback whose certificate only `tls`'s CA vouches for. */
async function serve(tls: ReturnType<typeof createStackTls>): Promise<string> {
  const server = createServer({ cert: tls.certPem, key: tls.keyPem }, (_req, res) => res.end("ok"));
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return `https://127.0.0.1:${(server.address() as { port: number }).port}/`;
}

/** A fresh Node with NODE_EXTRA_CA_CERTS=file fetches each URL: what it trusts. */
async function trusted(file: string, urls: string[]): Promise<string[]> {
  const script = `const out = []; for (const u of ${JSON.stringify(urls)}) { try { await fetch(u); out.push("ok"); } catch (e) { out.push(e.cause?.code ?? "error"); } } console.log(JSON.stringify(out));`;
  const { stdout } = await exec(process.execPath, ["--input-type=module", "-e", script], {
    env: { PATH: process.env.PATH ?? "", NODE_EXTRA_CA_CERTS: file },
  });
  return JSON.parse(stdout);
}

describe("stack.env's NODE_EXTRA_CA_CERTS keeps the CA the shell already trusted (issue 21)", () => {
  it("a company proxy's CA already set: the bundle trusts it and the stack's; a bundle of an earlier stack does not pile up", async () => {
    const company = createStackTls();
    const stack = createStackTls();
    const companyCa = join(dir, "company-ca.pem");
    const stackCa = join(dir, "stack-ca.pem");
    writeFileSync(companyCa, company.caPem);
    writeFileSync(stackCa, stack.caPem);
    const urls = [await serve(company), await serve(stack)];
    // The stack's CA alone (what stack.env named before): the company's proxy is no longer trusted.
    expect(await trusted(stackCa, urls)).toEqual(["UNABLE_TO_VERIFY_LEAF_SIGNATURE", "ok"]);
    const bundle = stackCaFile(stackCa, join(dir, "stack-ca-bundle.pem"), companyCa);
    expect(bundle).toBe(join(dir, "stack-ca-bundle.pem"));
    expect(await trusted(bundle, urls)).toEqual(["ok", "ok"]);
    // Started again from a shell that sourced the first stack.env: the company CA, the new stack CA, once each.
    const next = createStackTls();
    writeFileSync(stackCa, next.caPem);
    const again = stackCaFile(stackCa, join(dir, "stack-ca-bundle.pem"), bundle);
    const text = readFileSync(again, "utf8");
    expect(text.split(StackCaMarker)).toHaveLength(2);
    expect(text.match(/BEGIN CERTIFICATE/g)).toHaveLength(2);
    expect(await trusted(again, [urls[0] as string, await serve(next)])).toEqual(["ok", "ok"]);
  }, 30_000);

  it("nothing set (or the stack's own CA): stack.env names the stack's CA file", () => {
    const stackCa = join(dir, "only-stack.pem");
    writeFileSync(stackCa, createStackTls().caPem);
    expect(stackCaFile(stackCa, join(dir, "b.pem"), undefined)).toBe(stackCa);
    expect(stackCaFile(stackCa, join(dir, "b.pem"), stackCa)).toBe(stackCa);
    expect(stackCaFile(stackCa, join(dir, "b.pem"), join(dir, "no-such-file.pem"))).toBe(stackCa);
  });
});
