import type { PipelinePolicy, PipelineRequest } from "@azure/core-rest-pipeline";
import { retryAfterSeconds } from "../domain/azureFailure.js";
import type { RateBudget } from "../domain/rateBudget.js";
import { delay } from "../domain/signal.js";

/** What an error body said: its code, message and inner code. */
export interface ErrorBody {
  code?: string;
  message?: string;
  innerCode?: string;
}

/**
 * The Key Vault SDK turns an error body into a RestError with the top-level code only
 * ("Forbidden"), dropping innererror.code, which is what tells firewall from RBAC from policy; its
 * pagers drop the message too ("Pagination failed with unexpected statusCode 401"), which is where
 * a 401 says why. The policy keeps the body's words per request so the adapter can classify them.
 */
export const errorBodies = new WeakMap<PipelineRequest, ErrorBody>();

function readErrorBody(text: string): ErrorBody | undefined {
  try {
    const error = (
      JSON.parse(text) as { error?: { code?: unknown; message?: unknown; innererror?: { code?: unknown } } }
    ).error;
    if (!error) return undefined;
    const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);
    const body: ErrorBody = {};
    const code = str(error.code);
    const message = str(error.message);
    const innerCode = str(error.innererror?.code);
    if (code) body.code = code;
    if (message) body.message = message;
    if (innerCode) body.innerCode = innerCode;
    return body;
  } catch {
    return undefined;
  }
}

export interface VaultPolicyHooks {
  /** Each 429 the vault answered. */
  onThrottled?: () => void;
  /**
   * Waits before re-sending a 401 AKV10046 ("unable to resolve the key used for signature
   * validation"): transient after Entra ID rolls its signing keys; the same token then succeeds.
   */
  signingKeyRetryMs?: readonly number[];
}

const DefaultSigningKeyRetryMs = [1000, 3000, 6000];

/** A 401 Key Vault answers while it cannot yet resolve the token's signing key (its message starts AKV10046). */
const unresolvedSigningKey = (status: number, body: string | undefined): boolean =>
  status === 401 && /"message"\s*:\s*"AKV10046\b/.test(body ?? "");

/** Attempts for a 429 (each after Retry-After or the budget's backoff). */
export const MaxThrottledAttempts = 10;

/**
 * Runs for every HTTP attempt (position perRetry): takes a turn from the vault's budget first,
 * then tells the budget how the attempt went. Who retries what, once each:
 * - this policy owns 429s: it re-sends after Retry-After / x-ms-retry-after-ms when the vault
 *   sent one, else after the budget's exponential backoff with jitter (the real service often
 *   sends none), up to MaxThrottledAttempts; a 429 it gives up on leaves without its wait headers,
 *   so the SDK's throttling strategy does not retry it again on top;
 * - the SDK owns transport errors and 5xx (its exponential strategy);
 * - the budget owns the pace of the whole vault, slowed by every 429.
 */
export function vaultPolicy(budget: RateBudget, hooks: VaultPolicyHooks = {}): PipelinePolicy {
  return {
    name: "kvbackupVaultBudget",
    async sendRequest(request, next) {
      let response: Awaited<ReturnType<typeof next>>;
      const signingWaits = [...(hooks.signingKeyRetryMs ?? DefaultSigningKeyRetryMs)];
      for (let attempt = 1; ; attempt++) {
        await budget.acquire(request.abortSignal);
        response = await next(request);
        if (
          unresolvedSigningKey(response.status, response.bodyAsText ?? undefined) &&
          signingWaits.length > 0
        ) {
          await delay(signingWaits.shift() as number, request.abortSignal);
          attempt--;
          continue;
        }
        if (response.status !== 429) {
          budget.onSuccess();
          break;
        }
        budget.onThrottled(retryAfterSeconds(response.headers));
        hooks.onThrottled?.();
        if (attempt >= MaxThrottledAttempts) {
          for (const h of ["retry-after", "retry-after-ms", "x-ms-retry-after-ms"])
            response.headers.delete(h);
          break;
        }
      }
      const body =
        response.status >= 400 && response.bodyAsText ? readErrorBody(response.bodyAsText) : undefined;
      if (body) errorBodies.set(request, body);
      return response;
    },
  };
}
