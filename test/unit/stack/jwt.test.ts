import { describe, expect, it } from "vitest";
import { TokenSigner, verifyJwt } from "../../stack/identity/jwt.js";

const signer = new TokenSigner();
const now = Math.floor(Date.now() / 1000);
const claims = {
  aud: "https://vault.azure.net",
  iss: "https://sts.windows.net/t/",
  oid: "o",
  sub: "o",
  tid: "t",
  appid: "a",
  idtyp: "app" as const,
  iat: now,
  nbf: now,
  exp: now + 600,
};
const expect_ = { audiences: ["https://vault.azure.net"], issuerPrefix: "https://sts.windows.net/" };

describe("tokens", () => {
  it("verify when signed by a known key, for the right audience, in their lifetime", () => {
    expect(verifyJwt(signer.sign(claims), [signer.publicKey], expect_)).toMatchObject({
      ok: true,
      claims: { oid: "o" },
    });
  });
  it("fail otherwise, with the reason", () => {
    const other = new TokenSigner();
    expect(verifyJwt(other.sign(claims), [signer.publicKey], expect_)).toEqual({
      ok: false,
      reason: "signature",
    });
    expect(
      verifyJwt(signer.sign({ ...claims, aud: "https://storage.azure.com" }), [signer.publicKey], expect_),
    ).toMatchObject({ ok: false, reason: "audience", claims: { aud: "https://storage.azure.com" } });
    expect(verifyJwt(signer.sign({ ...claims, exp: now - 3600 }), [signer.publicKey], expect_)).toEqual({
      ok: false,
      reason: "expired",
    });
    expect(verifyJwt(signer.sign({ ...claims, nbf: now + 3600 }), [signer.publicKey], expect_)).toEqual({
      ok: false,
      reason: "notYetValid",
    });
    expect(
      verifyJwt(
        signer.sign({ ...claims, iss: "https://login.microsoftonline.com/t/v2.0" }),
        [signer.publicKey],
        expect_,
      ),
    ).toMatchObject({
      ok: false,
      reason: "issuer",
      claims: { iss: "https://login.microsoftonline.com/t/v2.0" },
    });
    expect(verifyJwt("a.b", [signer.publicKey], expect_)).toEqual({ ok: false, reason: "malformed" });
  });
});
