import type { TokenCredential } from "@azure/core-auth";
import {
  bearerTokenAuthenticationPolicy,
  createDefaultHttpClient,
  createHttpHeaders,
  createPipelineFromOptions,
  createPipelineRequest,
  type HttpClient,
  type Pipeline,
} from "@azure/core-rest-pipeline";
import { isAbort, retryAfterSeconds, toAzureFailure } from "../domain/azureFailure.js";
import type { VaultRef } from "../domain/config.js";
import { azureCallError, KvBackupError } from "../domain/errors.js";
import type { HsmJobState } from "../domain/hsmBackup.js";
import type { SignalLike } from "../domain/signal.js";

/** The data plane's backup/restore API version (backuprestore.json, stable 2025-07-01). */
const ApiVersion = "2025-07-01";
/** Managed HSM's token audience (every cloud's HSMs accept it for their own suffix). */
const Scope = "https://managedhsm.azure.net/.default";

interface ServiceError {
  code?: string;
  message?: string;
  innererror?: { code?: string } | null;
}

/**
 * A Managed HSM's backup administration over its REST API (backuprestore.json; the
 * @azure/keyvault-admin client is not on this project's registry, so the calls are made with the
 * SDKs' own pipeline: bearer token, retries, user agent). The HSM reaches storage with its own
 * user-assigned identity (useManagedIdentity: true): the app never hands it a token or a SAS.
 */
export class HsmAdapter {
  private readonly pipeline: Pipeline;
  private readonly http: HttpClient = createDefaultHttpClient();

  constructor(
    private readonly hsm: VaultRef,
    credential: TokenCredential,
  ) {
    this.pipeline = createPipelineFromOptions({
      retryOptions: { maxRetries: 4 },
      userAgentOptions: { userAgentPrefix: "kvbackup" },
    });
    this.pipeline.addPolicy(bearerTokenAuthenticationPolicy({ credential, scopes: Scope }));
  }

  preBackup(containerUri: string, signal?: SignalLike): Promise<HsmJobState> {
    return this.job(
      "POST",
      "/prebackup",
      { storageResourceUri: containerUri, useManagedIdentity: true },
      signal,
    );
  }

  startBackup(containerUri: string, signal?: SignalLike): Promise<HsmJobState> {
    return this.job(
      "POST",
      "/backup",
      { storageResourceUri: containerUri, useManagedIdentity: true },
      signal,
    );
  }

  backupStatus(jobId: string, signal?: SignalLike): Promise<HsmJobState> {
    return this.job("GET", `/backup/${encodeURIComponent(jobId)}/pending`, undefined, signal);
  }

  startKeyRestore(
    containerUri: string,
    folder: string,
    key: string,
    signal?: SignalLike,
  ): Promise<HsmJobState> {
    return this.job(
      "PUT",
      `/keys/${encodeURIComponent(key)}/restore`,
      { sasTokenParameters: { storageResourceUri: containerUri, useManagedIdentity: true }, folder },
      signal,
    );
  }

  startFullRestore(containerUri: string, folder: string, signal?: SignalLike): Promise<HsmJobState> {
    return this.job(
      "PUT",
      "/restore",
      {
        sasTokenParameters: { storageResourceUri: containerUri, useManagedIdentity: true },
        folderToRestore: folder,
      },
      signal,
    );
  }

  restoreStatus(jobId: string, signal?: SignalLike): Promise<HsmJobState> {
    return this.job("GET", `/restore/${encodeURIComponent(jobId)}/pending`, undefined, signal);
  }

  private async job(
    method: "GET" | "POST" | "PUT",
    path: string,
    body: unknown,
    signal?: SignalLike,
  ): Promise<HsmJobState> {
    const request = createPipelineRequest({
      url: `${this.hsm.url}${path}?api-version=${ApiVersion}`,
      method,
      headers: createHttpHeaders({ "content-type": "application/json", accept: "application/json" }),
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      ...(signal ? { abortSignal: signal } : {}),
    });
    let status: number;
    let text: string | undefined;
    let headers: { get(name: string): string | undefined };
    try {
      const response = await this.pipeline.sendRequest(this.http, request);
      status = response.status;
      text = response.bodyAsText ?? undefined;
      headers = response.headers;
    } catch (e) {
      if (isAbort(e)) throw new KvBackupError("Aborted", "aborted", { cause: e });
      throw azureCallError({ ...toAzureFailure(e, "keyvault"), resource: this.hsm.name });
    }
    let json: Record<string, unknown> = {};
    try {
      json = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    } catch {
      // Not JSON (a gateway's page): the status says what there is to say.
    }
    if (status >= 400) {
      const error = (json.error ?? {}) as ServiceError;
      const retryAfter = retryAfterSeconds(headers);
      throw azureCallError({
        service: "keyvault",
        status,
        ...(error.code ? { code: error.code } : {}),
        ...(error.innererror?.code ? { innerCode: error.innererror.code } : {}),
        message: error.message ?? `Managed HSM '${this.hsm.name}' answered ${status}`,
        ...(retryAfter !== undefined ? { retryAfterSeconds: retryAfter } : {}),
        ...(status === 401 && headers.get("www-authenticate")
          ? { authenticate: headers.get("www-authenticate") as string }
          : {}),
        resource: this.hsm.name,
      });
    }
    return jobState(json, headers);
  }
}

/** A FullBackupOperation / RestoreOperation body, read defensively (every field optional on the wire). */
function jobState(
  json: Record<string, unknown>,
  headers: { get(name: string): string | undefined },
): HsmJobState {
  const str = (v: unknown): string | undefined => (typeof v === "string" && v ? v : undefined);
  const status = str(json.status);
  const error = json.error as ServiceError | null | undefined;
  const retryAfter = retryAfterSeconds(headers);
  const folderUri = str(json.azureStorageBlobContainerUri);
  const details = str(json.statusDetails);
  return {
    jobId: str(json.jobId) ?? "",
    status: status === "Succeeded" || status === "Failed" || status === "Canceled" ? status : "InProgress",
    ...(details ? { statusDetails: details } : {}),
    ...(error && (error.code || error.message)
      ? {
          error: {
            ...(error.code ? { code: error.code } : {}),
            ...(error.message ? { message: error.message } : {}),
            ...(error.innererror?.code ? { innerCode: error.innererror.code } : {}),
          },
        }
      : {}),
    ...(folderUri ? { folderUri } : {}),
    ...(retryAfter !== undefined ? { retryAfterMs: retryAfter * 1000 } : {}),
  };
}
