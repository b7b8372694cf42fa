import { createHash, randomBytes } from "node:crypto";
import forge from "node-forge";
import { errors } from "./errors.js";
import type { KeyMaterial } from "./keyMaterial.js";
import type { CertificatePolicy } from "./model.js";

export interface IssuedCertificate {
  cer: string;
  x5t: string;
  csr: string;
  secretValue: string;
  notBefore: number;
  expires: number;
}

const ShortNames = new Set(["CN", "O", "OU", "L", "ST", "C", "E"]);

function parseSubject(subject: string): forge.pki.CertificateField[] {
  const fields = subject
    .split(/,(?=\s*[A-Za-z]+=)/)
    .map((part) => part.trim())
    .filter(Boolean)
    .map((part) => {
      const eq = part.indexOf("=");
      const short = part.slice(0, eq).trim().toUpperCase();
      if (eq < 1 || !ShortNames.has(short)) throw errors.badParameter(`Invalid subject name: '${subject}'.`);
      return short === "E"
        ? { name: "emailAddress", value: part.slice(eq + 1).trim() }
        : { shortName: short, value: part.slice(eq + 1).trim() };
    });
  if (fields.length === 0) throw errors.badParameter("Subject must not be empty.");
  return fields;
}

/** Issues a self-signed certificate for the policy, like the "Self" issuer does. RSA keys only. */
export function issueSelfSigned(
  policy: CertificatePolicy,
  key: KeyMaterial,
  now = new Date(),
): IssuedCertificate {
  if (!key.kty.startsWith("RSA")) {
    throw errors.badParameter("The emulator issues self-signed certificates for RSA keys only.");
  }
  const privateKey = forge.pki.privateKeyFromPem(key.privatePem) as forge.pki.rsa.PrivateKey;
  const publicKey = forge.pki.setRsaPublicKey(privateKey.n, privateKey.e);
  const subject = parseSubject(policy.x509_props.subject);
  const cert = forge.pki.createCertificate();
  cert.publicKey = publicKey;
  const serial = randomBytes(16);
  serial[0] = (serial[0] ?? 0) & 0x7f;
  cert.serialNumber = serial.toString("hex");
  const notBefore = new Date(Math.floor(now.getTime() / 1000) * 1000 - 5 * 60_000);
  const notAfter = new Date(notBefore);
  notAfter.setUTCMonth(notAfter.getUTCMonth() + policy.x509_props.validity_months);
  cert.validity.notBefore = notBefore;
  cert.validity.notAfter = notAfter;
  cert.setSubject(subject);
  cert.setIssuer(subject);
  const extensions: object[] = [{ name: "basicConstraints", cA: false }];
  const usages = new Set(policy.x509_props.key_usage ?? ["digitalSignature", "keyEncipherment"]);
  extensions.push({
    name: "keyUsage",
    digitalSignature: usages.has("digitalSignature"),
    keyEncipherment: usages.has("keyEncipherment"),
    dataEncipherment: usages.has("dataEncipherment"),
    keyCertSign: usages.has("keyCertSign"),
  });
  const ekus = policy.x509_props.ekus ?? [];
  if (ekus.length > 0) {
    extensions.push({
      name: "extKeyUsage",
      serverAuth: ekus.includes("1.3.6.1.5.5.7.3.1"),
      clientAuth: ekus.includes("1.3.6.1.5.5.7.3.2"),
    });
  }
  const dns = policy.x509_props.sans?.dns_names ?? [];
  if (dns.length > 0)
    extensions.push({ name: "subjectAltName", altNames: dns.map((value) => ({ type: 2, value })) });
  cert.setExtensions(extensions);
  cert.sign(privateKey, forge.md.sha256.create());

  const der = Buffer.from(forge.asn1.toDer(forge.pki.certificateToAsn1(cert)).getBytes(), "binary");
  const csr = forge.pki.createCertificationRequest();
  csr.publicKey = publicKey;
  csr.setSubject(subject);
  csr.sign(privateKey, forge.md.sha256.create());
  const csrDer = Buffer.from(
    forge.asn1.toDer(forge.pki.certificationRequestToAsn1(csr)).getBytes(),
    "binary",
  );

  let secretValue: string;
  if (policy.secret_props.contentType === "application/x-pem-file") {
    secretValue = `${forge.pki.privateKeyInfoToPem(forge.pki.wrapRsaPrivateKey(forge.pki.privateKeyToAsn1(privateKey)))}${forge.pki.certificateToPem(cert)}`;
  } else {
    const p12 = forge.pkcs12.toPkcs12Asn1(privateKey, [cert], null, { algorithm: "3des" });
    secretValue = Buffer.from(forge.asn1.toDer(p12).getBytes(), "binary").toString("base64");
  }
  return {
    cer: der.toString("base64"),
    x5t: createHash("sha1").update(der).digest("base64url"),
    csr: csrDer.toString("base64"),
    secretValue,
    notBefore: Math.floor(notBefore.getTime() / 1000),
    expires: Math.floor(notAfter.getTime() / 1000),
  };
}
