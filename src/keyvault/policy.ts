import type { PipelinePolicy, PipelineRequest } from "@azure/core-rest-pipeline";
import { retryAfterSeconds } from "../azureFailure.js";
import type { VaultLimiter } from "../backup/limiter.js";

/**
 * The Key Vault SDK turns an error body into a RestError with the top-level code only
 * ("Forbidden"), dropping innererror.code, which is what tells firewall from RBAC from policy.
 * The policy keeps it per request so the adapter can classify by code.
 */
export const innerCodes = new WeakMap<PipelineRequest, string>();

export interface VaultPolicyHooks {
  /** Each 429 the vault answered (the SDK may still retry it when Retry-After came with it). */
  onThrottled?: () => void;
}

/**
 * Runs for every HTTP attempt (position perRetry): takes a token from the vault's budget first,
 * then tells the limiter how the attempt went. Layers: the SDK owns transport errors, 5xx and
 * server-directed waits (it honours Retry-After / x-ms-retry-after-ms); the limiter owns the
 * vault's pace; the engine retries the 429s that came without a wait (the SDK gives those up).
 */
export function vaultPolicy(limiter: VaultLimiter, hooks: VaultPolicyHooks = {}): PipelinePolicy {
  return {
    name: "kvbackupVaultBudget",
    async sendRequest(request, next) {
      await limiter.acquire(request.abortSignal);
      const response = await next(request);
      if (response.status === 429) {
        limiter.onThrottled(retryAfterSeconds(response.headers));
        hooks.onThrottled?.();
      } else {
        limiter.onSuccess();
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
