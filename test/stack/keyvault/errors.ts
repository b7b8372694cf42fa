/**
 * Key Vault's error responses, shaped after the real bodies in
 * shared/reference/keyvault/errors/keyvault-error-bodies.json.
 */
export interface KvErrorBody {
  error: { code: string; message: string; innererror?: { code: string } };
}

export class KvError extends Error {
  readonly status: number;
  readonly code: string;
  readonly innerCode: string | undefined;
  readonly headers: Record<string, string>;

  constructor(
    status: number,
    code: string,
    message: string,
    innerCode?: string,
    headers: Record<string, string> = {},
  ) {
    super(message);
    this.status = status;
    this.code = code;
    this.innerCode = innerCode;
    this.headers = headers;
  }

  body(): KvErrorBody {
    return {
      error: {
        code: this.code,
        message: this.message,
        ...(this.innerCode ? { innererror: { code: this.innerCode } } : {}),
      },
    };
  }
}

export type ObjectKind = "secret" | "key" | "certificate";

const Title: Record<ObjectKind, string> = { secret: "Secret", key: "Key", certificate: "Certificate" };
const NotFoundCode: Record<ObjectKind, string> = {
  secret: "SecretNotFound",
  key: "KeyNotFound",
  certificate: "CertificateNotFound",
};

export interface Caller {
  appid: string;
  oid: string;
  tid: string;
}

export const callerText = (c: Caller): string =>
  `appid=${c.appid};oid=${c.oid};iss=https://sts.windows.net/${c.tid}/`;

export const errors = {
  unauthorized: (tenantId: string): KvError =>
    new KvError(401, "Unauthorized", "AKV10000: Request is missing a Bearer or PoP token.", undefined, {
      "www-authenticate": `Bearer authorization="https://login.windows.net/${tenantId}", resource="https://vault.azure.net"`,
    }),
  invalidToken: (tenantId: string, reason: string): KvError =>
    new KvError(401, "Unauthorized", reason, undefined, {
      "www-authenticate": `Bearer authorization="https://login.windows.net/${tenantId}", resource="https://vault.azure.net"`,
    }),
  badVersion: (given: string, latest: string): KvError =>
    new KvError(
      400,
      "BadParameter",
      `The specified version (${given}) is not recognized. Consider using the latest supported version (${latest}).`,
    ),
  missingVersion: (): KvError =>
    new KvError(
      400,
      "BadParameter",
      "The request URI contains an invalid or missing api-version query parameter.",
    ),
  badParameter: (message: string): KvError => new KvError(400, "BadParameter", message),
  notFound: (kind: ObjectKind, name: string, version?: string): KvError =>
    new KvError(
      404,
      NotFoundCode[kind],
      version
        ? `A ${kind} with (name/id) ${name}/${version} was not found in this key vault. If you recently deleted this ${kind} you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182`
        : `A ${kind} with (name/id) ${name} was not found in this key vault. If you recently deleted this ${kind} you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182`,
    ),
  deletedNotFound: (kind: ObjectKind, name: string): KvError =>
    new KvError(404, NotFoundCode[kind], `Deleted ${Title[kind]} not found: ${name}`),
  pendingNotFound: (name: string): KvError =>
    new KvError(404, "CertificateOperationNotFound", `Pending certificate not found: ${name}`),
  routeNotFound: (): KvError => new KvError(404, "NotFound", "The requested resource was not found."),
  methodNotAllowed: (): KvError =>
    new KvError(405, "MethodNotAllowed", "The requested resource does not support http method."),
  deletedButRecoverable: (kind: ObjectKind, name: string): KvError =>
    new KvError(
      409,
      "Conflict",
      `${Title[kind]} ${name} is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the ${kind} can only be recovered or purged.`,
      "ObjectIsDeletedButRecoverable",
    ),
  beingDeleted: (kind: ObjectKind, name: string): KvError =>
    new KvError(
      409,
      "Conflict",
      `${Title[kind]} ${name} is currently being deleted and cannot be re-created; retry later.`,
      "ObjectIsBeingDeleted",
    ),
  beingRecovered: (kind: ObjectKind, name: string): KvError =>
    new KvError(
      409,
      "Conflict",
      `${Title[kind]} ${name} is currently being recovered and cannot be re-created; retry later.`,
      "ObjectIsBeingRecovered",
    ),
  restoreConflict: (kind: ObjectKind, id: string): KvError =>
    new KvError(
      409,
      "Conflict",
      `There was a conflict restoring the ${kind} '${id}'. This can happen if either: a second ${kind} with the same name was created after the first ${kind} was deleted; thus trying to restore a ${kind} whose name is already in use. To fix this, rename the second ${kind} to something else so that the restore works. The second probable cause of this exception is when multiple operations are performed in parallel against the ${kind}. To avoid this error, perform operations against a ${kind} in a sequential manner.`,
    ),
  /** Azure/sap-automation#200 (a Go SDK capture): 403 Forbidden on a purge in a purge-protected vault. */
  purgeProtected: (vault: string, location: string): KvError =>
    new KvError(
      403,
      "Forbidden",
      `Operation "purge" is not allowed because purge protection is enabled for this vault. Key Vault service will automatically purge it after the retention period has passed.\r\nVault: ${vault};location=${location}`,
    ),
  cannotDecrypt: (): KvError => new KvError(400, "BadParameter", "Cannot decrypt backup blob."),
  invalidBackup: (): KvError => new KvError(400, "BadParameter", "Backup blob contains invalid data."),
  tooManyVersions: (kind: ObjectKind, name: string, limit: number): KvError =>
    new KvError(
      400,
      "BadParameter",
      `Backup of ${kind} '${name}' is not supported because it has more than ${limit} versions. Key Vault cannot back up more than ${limit} versions of an object.`,
      "BackupTooManyVersions",
    ),
  managedByCertificate: (kind: "key" | "secret", operation: string): KvError =>
    new KvError(
      403,
      "Forbidden",
      `Operation "${operation}" is not allowed on this ${kind === "key" ? "Key" : "secret"}, since it is associated with a certificate. Perform the operation on the corresponding certificate. For more information refer to https://docs.microsoft.com/en-us/azure/key-vault/certificates/about-certificates#composition-of-a-certificate`,
      kind === "key" ? "KeyManagedByKeyVault" : "SecretManagedByKeyVault",
    ),
  forbiddenByRbac: (
    caller: Caller,
    action: string,
    resource: string,
    vault: string,
    location: string,
  ): KvError =>
    new KvError(
      403,
      "Forbidden",
      `Caller is not authorized to perform action on resource.\r\nIf role assignments, deny assignments or role definitions were changed recently, please observe propagation time.\r\nCaller: ${callerText(caller)}\r\nAction: '${action}'\r\nResource: '${resource}'\r\nAssignment: (not found)\r\nDenyAssignmentId: null\r\nDecisionReason: null \r\nVault: ${vault};location=${location}\r\n`,
      "ForbiddenByRbac",
    ),
  accessDenied: (caller: Caller, permission: string, vault: string, location: string): KvError =>
    new KvError(
      403,
      "Forbidden",
      `The user, group or application '${callerText(caller)}' does not have ${permission} permission on key vault '${vault};location=${location}'. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125287`,
      "AccessDenied",
    ),
  forbiddenByFirewall: (clientAddress: string, caller: Caller, vault: string, location: string): KvError =>
    new KvError(
      403,
      "Forbidden",
      `Client address is not authorized and caller is not a trusted service.\r\nClient address: ${clientAddress}\r\nCaller: ${callerText(caller)}\r\nVault: ${vault};location=${location}`,
      "ForbiddenByFirewall",
    ),
  forbiddenByConnection: (caller: Caller, vault: string, location: string): KvError =>
    new KvError(
      403,
      "Forbidden",
      `Public network access is disabled and request is not from a trusted service nor via an approved private link.\r\nCaller: ${callerText(caller)}\r\nVault: ${vault};location=${location}`,
      "ForbiddenByConnection",
    ),
  throttled: (retryAfterSeconds?: number): KvError =>
    new KvError(
      429,
      "Throttled",
      "Request was not processed because too many requests were received. Reason: VaultRequestTypeLimitReached",
      undefined,
      retryAfterSeconds === undefined ? {} : { "retry-after": String(retryAfterSeconds) },
    ),
  internal: (): KvError =>
    new KvError(500, "InternalServerError", "An unexpected error occurred. Please try again later."),
  unavailable: (): KvError =>
    new KvError(503, "ServiceUnavailable", "The service is temporarily unavailable. Please try again later."),
};
