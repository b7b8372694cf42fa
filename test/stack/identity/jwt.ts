import {
  createPublicKey,
  createSign,
  createVerify,
  generateKeyPairSync,
  type KeyObject,
  randomUUID,
} from "node:crypto";

/** Claims the local identity endpoint puts in its tokens: the subset of Entra's v1 access tokens Azure checks. */
export interface TokenClaims {
  aud: string;
  iss: string;
  oid: string;
  tid: string;
  appid: string;
  sub: string;
  idtyp: "app";
  iat: number;
  nbf: number;
  exp: number;
  uti?: string;
}

const b64url = (buf: Buffer | string): string => Buffer.from(buf).toString("base64url");

/** Signs RS256 JWTs with a key made at start; verifiers in this process get the public key. */
export class TokenSigner {
  readonly kid = randomUUID();
  private readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;

  constructor() {
    const pair = generateKeyPairSync("rsa", { modulusLength: 2048 });
    this.privateKey = pair.privateKey;
    this.publicKey = pair.publicKey;
  }

  sign(claims: TokenClaims): string {
    const header = b64url(JSON.stringify({ typ: "JWT", alg: "RS256", kid: this.kid }));
    const payload = b64url(JSON.stringify({ ...claims, uti: claims.uti ?? randomUUID() }));
    const signer = createSign("RSA-SHA256");
    signer.update(`${header}.${payload}`);
    return `${header}.${payload}.${signer.sign(this.privateKey).toString("base64url")}`;
  }

  /** JWKS document, so another process can verify tokens too. */
  jwks(): { keys: object[] } {
    return {
      keys: [
        {
          ...createPublicKey(this.publicKey).export({ format: "jwk" }),
          kid: this.kid,
          use: "sig",
          alg: "RS256",
        },
      ],
    };
  }
}

export type VerifyResult =
  | { ok: true; claims: TokenClaims }
  | {
      ok: false;
      reason: "malformed" | "signature" | "audience" | "issuer" | "expired" | "notYetValid";
      /** The token's claims, once it could be read (the service's message names the audience or issuer it found). */
      claims?: TokenClaims;
    };

/** Verifies signature, audience and lifetime the way a resource server must. */
export function verifyJwt(
  token: string,
  keys: readonly KeyObject[],
  expect: {
    audiences: readonly string[];
    issuerPrefix: string;
    nowSeconds?: number;
    clockSkewSeconds?: number;
  },
): VerifyResult {
  const parts = token.split(".");
  if (parts.length !== 3) return { ok: false, reason: "malformed" };
  const [h, p, s] = parts as [string, string, string];
  let header: { alg?: string };
  let claims: TokenClaims;
  try {
    header = JSON.parse(Buffer.from(h, "base64url").toString("utf8"));
    claims = JSON.parse(Buffer.from(p, "base64url").toString("utf8"));
  } catch {
    return { ok: false, reason: "malformed" };
  }
  if (header.alg !== "RS256") return { ok: false, reason: "signature" };
  const signature = Buffer.from(s, "base64url");
  const valid = keys.some((key) => {
    const verifier = createVerify("RSA-SHA256");
    verifier.update(`${h}.${p}`);
    return verifier.verify(key, signature);
  });
  if (!valid) return { ok: false, reason: "signature" };
  if (!expect.audiences.includes(claims.aud)) return { ok: false, reason: "audience", claims };
  if (typeof claims.iss !== "string" || !claims.iss.startsWith(expect.issuerPrefix)) {
    return { ok: false, reason: "issuer", claims };
  }
  const now = expect.nowSeconds ?? Math.floor(Date.now() / 1000);
  const skew = expect.clockSkewSeconds ?? 300;
  if (typeof claims.exp !== "number" || claims.exp + skew < now) return { ok: false, reason: "expired" };
  if (typeof claims.nbf !== "number" || claims.nbf - skew > now) return { ok: false, reason: "notYetValid" };
  return { ok: true, claims };
}
