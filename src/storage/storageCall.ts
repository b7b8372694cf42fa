import { isAbort, type StorageTarget, toAzureFailure } from "../domain/azureFailure.js";
import { azureCallError, KvBackupError } from "../domain/errors.js";

interface StorageErrorLike {
  response?: {
    headers?: { get(name: string): string | undefined | null };
    bodyAsText?: string | null;
    parsedBody?: { authenticationErrorDetail?: unknown };
  };
}

/** AuthenticationErrorDetail, as the SDK parsed it or from the raw XML (streamed downloads are not parsed). */
function authenticationDetail(e: unknown): string | undefined {
  const response = (e as StorageErrorLike).response;
  const parsed = response?.parsedBody?.authenticationErrorDetail;
  if (typeof parsed === "string") return parsed;
  return response?.bodyAsText?.match(/<AuthenticationErrorDetail>([^<]*)<\/AuthenticationErrorDetail>/)?.[1];
}

/**
 * The error code Storage answered with: the SDK's, else the x-ms-error-code header every Storage
 * service sends, else the Table service's JSON body ({"odata.error":{"code":...}}), which the
 * tables SDK leaves unparsed in the message.
 */
function errorCode(e: unknown): string | undefined {
  const response = (e as StorageErrorLike).response;
  const header = response?.headers?.get("x-ms-error-code");
  if (header) return header;
  try {
    const code = (JSON.parse(response?.bodyAsText ?? "") as { "odata.error"?: { code?: unknown } })[
      "odata.error"
    ]?.code;
    return typeof code === "string" ? code : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Runs one storage SDK call; whatever it throws leaves as a KvBackupError carrying what Storage
 * answered, and on what (`store`, and `resource` in words: "container 'x'", "table 'y'", "queue 'z'").
 */
export async function storageCall<T>(fn: () => Promise<T>, target?: StorageTarget): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof KvBackupError) throw e;
    if (isAbort(e)) throw new KvBackupError("Aborted", "aborted", { cause: e });
    const failure = toAzureFailure(e, "storage");
    const code = errorCode(e);
    if (code && !failure.networkCode) failure.code = code;
    const detail = authenticationDetail(e);
    if (detail) failure.detail = detail;
    if (target) {
      failure.store = target;
      failure.resource = `${target.kind} '${target.name}'`;
    }
    throw azureCallError(failure);
  }
}

export const isStorageStatus = (e: unknown, status: number, code?: string): boolean =>
  e instanceof KvBackupError &&
  e.failure?.service === "storage" &&
  e.failure.status === status &&
  (code === undefined || e.failure.code === code);

export const signalOption = <S>(signal: S | undefined): { abortSignal?: S } =>
  signal ? { abortSignal: signal } : {};

/**
 * Creates a container, queue or table when missing. The infra creates them and gives the app a
 * role scoped to each (never the account), under which creating may be refused
 * (AuthorizationPermissionMismatch) even though the resource is there: that refusal is not a
 * failure here — the calls that follow prove the resource exists (a missing one then answers 404,
 * diagnosed StorageResourceMissing).
 */
export async function createIfMissing(fn: () => Promise<unknown>, target: StorageTarget): Promise<void> {
  try {
    await storageCall(fn, target);
  } catch (e) {
    if (isStorageStatus(e, 409) || isStorageStatus(e, 403, "AuthorizationPermissionMismatch")) return;
    throw e;
  }
}
