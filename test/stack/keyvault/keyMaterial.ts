import { createPrivateKey, createPublicKey, generateKeyPairSync } from "node:crypto";
import { errors } from "./errors.js";

export interface KeySpec {
  kty: string;
  keySize?: number;
  crv?: string;
}

export interface KeyMaterial {
  kty: "RSA" | "EC" | "RSA-HSM" | "EC-HSM";
  privatePem: string;
  publicJwk: Record<string, string>;
}

const Curves: Record<string, string> = {
  "P-256": "prime256v1",
  "P-384": "secp384r1",
  "P-521": "secp521r1",
  "P-256K": "secp256k1",
};

/**
 * Makes real key material with Node's native generator. A pool can be given so bulk seeding
 * (benchmarks with thousands of keys) reuses material instead of spending seconds per RSA key.
 */
export function generateKeyMaterial(spec: KeySpec, pool?: Map<string, KeyMaterial>): KeyMaterial {
  const kty = spec.kty.toUpperCase();
  const poolKey = `${kty}/${spec.keySize ?? ""}/${spec.crv ?? ""}`;
  const pooled = pool?.get(poolKey);
  if (pooled) return pooled;
  let privatePem: string;
  let typ: KeyMaterial["kty"];
  if (kty === "RSA" || kty === "RSA-HSM") {
    const size = spec.keySize ?? 2048;
    if (![2048, 3072, 4096].includes(size))
      throw errors.badParameter(`Invalid key size: ${size}. Supported: 2048, 3072, 4096.`);
    const { privateKey } = generateKeyPairSync("rsa", { modulusLength: size });
    privatePem = privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    typ = kty;
  } else if (kty === "EC" || kty === "EC-HSM") {
    const crv = spec.crv ?? "P-256";
    const named = Curves[crv];
    if (!named) throw errors.badParameter(`Invalid curve name: ${crv}.`);
    const { privateKey } = generateKeyPairSync("ec", { namedCurve: named });
    privatePem = privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    typ = kty;
  } else {
    throw errors.badParameter(`The specified key type '${spec.kty}' is not supported.`);
  }
  const jwk = createPublicKey(createPrivateKey(privatePem)).export({ format: "jwk" }) as Record<
    string,
    string
  >;
  if (jwk.crv === "secp256k1") jwk.crv = "P-256K";
  const material: KeyMaterial = { kty: typ, privatePem, publicJwk: jwk };
  pool?.set(poolKey, material);
  return material;
}

export const defaultKeyOps = (kty: string): string[] =>
  kty.startsWith("RSA")
    ? ["encrypt", "decrypt", "sign", "verify", "wrapKey", "unwrapKey"]
    : ["sign", "verify"];
