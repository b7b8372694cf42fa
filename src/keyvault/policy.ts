import type { PipelinePolicy, PipelineRequest } from "@azure/core-rest-pipeline";
import { retryAfterSeconds } from "../domain/azureFailure.js";
import type { RateBudget } from "../domain/budget.js";

/**
 * The Key Vault SDK turns an error body into a RestError with the top-level code only
 * ("Forbidden"), dropping innererror.code, which is what tells firewall from RBAC from policy.
 * The policy keeps it per request so the adapter can classify by code.
 */
export const innerCodes = new WeakMap<PipelineRequest, string>();

export interface VaultPolicyHooks {
  /** Each 429 the vault answered. */
  onThrottled?: () => void;
}

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
      for (let attempt = 1; ; attempt++) {
        await budget.acquire(request.abortSignal);
        response = await next(request);
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
      if (response.status >= 400 && response.bodyAsText) {
        try {
          const inner = (JSON.parse(response.bodyAsText) as { error?: { innererror?: { code?: unknown } } })
            .error?.innererror?.code;
          if (typeof inner === "string") innerCodes.set(request, inner);
        } catch {
          // Not JSON: nothing to keep.
        }
      }
      return response;
    },
  };
}
