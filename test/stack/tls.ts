import { generateKeyPairSync, randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { getCACertificates, setDefaultCACertificates } from "node:tls";
import forge from "node-forge";

/** A CA and one server certificate for the loopback names, both made at run time and never stored in git. */
export interface StackTls {
  caPem: string;
  certPem: string;
  keyPem: string;
}

function rsaForge(): { privateKey: forge.pki.rsa.PrivateKey; publicKey: forge.pki.rsa.PublicKey } {
  // Node's native generator: node-forge's pure-JS RSA generation takes seconds per key.
  const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const priv = forge.pki.privateKeyFromPem(privateKey.export({ type: "pkcs1", format: "pem" }).toString());
  return { privateKey: priv, publicKey: forge.pki.setRsaPublicKey(priv.n, priv.e) };
}

function serial(): string {
  // Positive serial: clear the top bit.
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] ?? 0) & 0x7f;
  return bytes.toString("hex");
}

export function createStackTls(hosts: readonly string[] = ["127.0.0.1", "localhost", "::1"]): StackTls {
  const now = Date.now();
  const ca = rsaForge();
  const caCert = forge.pki.createCertificate();
  caCert.publicKey = ca.publicKey;
  caCert.serialNumber = serial();
  caCert.validity.notBefore = new Date(now - 60_000);
  caCert.validity.notAfter = new Date(now + 7 * 24 * 3600_000);
  const caName = [{ name: "commonName", value: `kvbackup local stack CA ${new Date(now).toISOString()}` }];
  caCert.setSubject(caName);
  caCert.setIssuer(caName);
  caCert.setExtensions([
    { name: "basicConstraints", cA: true, critical: true },
    { name: "keyUsage", keyCertSign: true, cRLSign: true, critical: true },
    { name: "subjectKeyIdentifier" },
  ]);
  caCert.sign(ca.privateKey, forge.md.sha256.create());

  const leaf = rsaForge();
  const cert = forge.pki.createCertificate();
  cert.publicKey = leaf.publicKey;
  cert.serialNumber = serial();
  cert.validity.notBefore = new Date(now - 60_000);
  cert.validity.notAfter = new Date(now + 7 * 24 * 3600_000);
  cert.setSubject([{ name: "commonName", value: "127.0.0.1" }]);
  cert.setIssuer(caName);
  cert.setExtensions([
    { name: "basicConstraints", cA: false },
    { name: "keyUsage", digitalSignature: true, keyEncipherment: true, critical: true },
    { name: "extKeyUsage", serverAuth: true },
    {
      name: "subjectAltName",
      altNames: hosts.map((h) => (/^[\d.]+$|:/.test(h) ? { type: 7, ip: h } : { type: 2, value: h })),
    },
  ]);
  cert.sign(ca.privateKey, forge.md.sha256.create());

  return {
    caPem: forge.pki.certificateToPem(caCert),
    certPem: forge.pki.certificateToPem(cert),
    keyPem: forge.pki.privateKeyToPem(leaf.privateKey),
  };
}

/** Writes the CA (for NODE_EXTRA_CA_CERTS) and, when asked, the server pair for child processes such as Azurite. */
export function writeTlsFiles(tls: StackTls, files: { ca: string; cert?: string; key?: string }): void {
  mkdirSync(dirname(files.ca), { recursive: true });
  writeFileSync(files.ca, tls.caPem);
  if (files.cert) writeFileSync(files.cert, tls.certPem);
  if (files.key) writeFileSync(files.key, tls.keyPem, { mode: 0o600 });
}

/**
 * This process trusts the stack's CA from here on, for the SDK clients the stack itself runs (a test
 * worker already does, through NODE_EXTRA_CA_CERTS; `npm run stack` and the bench do not).
 */
export function trustStackCa(caPem: string): void {
  const trusted = getCACertificates("default");
  if (!trusted.includes(caPem)) setDefaultCACertificates([...trusted, caPem]);
}
