import type { IdentityFailure } from "../domain/azureFailure.js";
import { firstLine } from "../domain/errors.js";

export type Who = Pick<IdentityFailure, "credential" | "clientId">;

interface ErrorLike {
  name?: string;
  message?: string;
  /** MSAL's error behind a managed identity failure: errorCode "network_error", or the endpoint's HTTP status. */
  cause?: { errorCode?: string; status?: number };
  /** AggregateAuthenticationError: one error per credential of the chain tried. */
  errors?: ErrorLike[];
}

/** What the managed identity's attempt says, by the codes MSAL's error carries (never its words). */
function managedIdentityReason(e: ErrorLike, who: Who): IdentityFailure["reason"] | undefined {
  const c = e.cause;
  if (c?.errorCode === "network_error") return "unreachable";
  // The App Service identity endpoint answers 400 for a client id no identity of the app has.
  if (typeof c?.status === "number") return c.status === 400 && who.clientId ? "not-assigned" : "refused";
  return undefined;
}

/** An identity library error, read: which credential failed, and why. */
export function classifyTokenError(e: unknown, who: Who, operator: boolean): IdentityFailure {
  const err = (e ?? {}) as ErrorLike;
  const parts = err.errors?.length ? err.errors : [err];
  const detail = parts
    .map((p) => firstLine(p.message ?? "", 300))
    .filter(Boolean)
    .join("; ")
    .slice(0, 900);
  for (const p of parts) {
    const reason = managedIdentityReason(p, who);
    if (reason) return { ...who, reason, detail: firstLine(p.message ?? "", 300) };
  }
  // Every credential of the operator's chain said it cannot be used here: nobody is signed in.
  if (operator && parts.every((p) => p.name === "CredentialUnavailableError"))
    return { ...who, reason: "not-signed-in", detail };
  return { ...who, reason: "refused", detail };
}
