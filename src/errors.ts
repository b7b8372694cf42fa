/** Every failure kvbackup raises itself: a stable code to branch on, a cause, and whether a retry can help. */
export type KvBackupErrorCode =
  | "BadSettings"
  | "BadRequest"
  | "NotFound"
  | "VaultNotAllowed"
  | "AlreadyRunning"
  | "LeaseLost"
  | "StorageUnavailable"
  | "RunFailed"
  | "CorruptBlob"
  | "Aborted";

export class KvBackupError extends Error {
  readonly code: KvBackupErrorCode;
  readonly retryable: boolean;

  constructor(
    code: KvBackupErrorCode,
    message: string,
    options: { cause?: unknown; retryable?: boolean } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "KvBackupError";
    this.code = code;
    this.retryable = options.retryable ?? false;
  }
}

export const isKvBackupError = (e: unknown, code?: KvBackupErrorCode): e is KvBackupError =>
  e instanceof KvBackupError && (code === undefined || e.code === code);

/** Anything thrown, as an Error. */
export function toError(e: unknown): Error {
  if (e instanceof Error) return e;
  return new Error(typeof e === "string" ? e : JSON.stringify(e));
}
