import { existsSync, readFileSync, writeFileSync } from "node:fs";

/** What separates the CAs the shell already trusted from the stack's own in a bundle. */
export const StackCaMarker =
  "# --- kvbackup local stack CA (npm run stack): everything above was NODE_EXTRA_CA_CERTS before ---";

/**
 * The file stack.env names in NODE_EXTRA_CA_CERTS. Node reads one file there, so pointing it at the
 * stack's CA alone would drop a CA the shell already trusted (a company's TLS-inspecting proxy:
 * npm and every other TLS call in that shell would then fail with SELF_SIGNED_CERT_IN_CHAIN). With
 * one set, a bundle of both is written: what was there first (a bundle of an earlier stack's
 * contributes only what came before its marker), then the stack's CA.
 */
export function stackCaFile(stackCaPath: string, bundlePath: string, existing: string | undefined): string {
  if (!existing || existing === stackCaPath || !existsSync(existing)) return stackCaPath;
  const before = readFileSync(existing, "utf8").split(StackCaMarker)[0]?.trimEnd() ?? "";
  if (!before) return stackCaPath;
  writeFileSync(bundlePath, `${before}\n${StackCaMarker}\n${readFileSync(stackCaPath, "utf8")}`);
  return bundlePath;
}
