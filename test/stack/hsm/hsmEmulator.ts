import type { KeyObject } from "node:crypto";
import { randomBytes, randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer, request, type Server } from "node:https";
import { verifyJwt } from "../identity/jwt.js";
import { closeNow, listenLoopback } from "../loopback.js";

/**
 * A Managed HSM's backup administration, as the data plane speaks it (backuprestore.json,
 * 2025-07-01, and the SDKs' recordings): POST /prebackup and /backup answer 202 with an
 * InProgress FullBackupOperation, an Azure-AsyncOperation header and Retry-After; GET
 * /backup/{jobId}/pending and /restore/{jobId}/pending answer 200 with the job's state, a failed job
 * included (status Failed, error {code, message}); PUT /keys/{key}/restore and PUT /restore start
 * restores. Local RBAC decides who may start what (403 AccessDenied, the service's wording).
 *
 * The jobs really write to and read from the storage account the caller names — as the HSM
 * itself: with a token of the HSM's own user-assigned identity, so the storage fault proxy's
 * firewall model tells the HSM apart from the Function. A backup lands in a folder the HSM names,
 * mhsm-{name}-{yyyyMMddHHmmss}{2 digits}, at the root of the container, as real backups do.
 *
 * Unverified (no public capture found): the wording of a job that storage refused; here the job's
 * error carries storage's status and code in its message, in the shape of the real failed-job body
 * ({"code":"BadRequest","innererror":null,"message":...}); and the 409 body of a second job.
 */

export interface HsmKey {
  versions: { kid: string; material: string; created: number }[];
}

export interface HsmEmulatorOptions {
  name: string;
  tls: { cert: string; key: string; ca: string };
  tenantId: string;
  tokenKeys: () => readonly KeyObject[];
  /** A storage token for the HSM's own identity (the stack mints it with the HSM identity's object id). */
  storageToken: () => string;
  /** Seconds in Retry-After (the service sends 10); 0 = no header (tests). */
  retryAfterSeconds?: number;
}

type JobKind = "prebackup" | "backup" | "restore";

interface Job {
  kind: JobKind;
  state: Record<string, unknown>;
}

const Roles: Record<string, readonly string[]> = {
  "Managed HSM Administrator": ["backup/start", "backup/status", "restore/start", "restore/status"],
  "Managed HSM Backup": ["backup/start", "backup/status"],
  // The service's own name for the same built-in role (7b127d3c-77bd-4e3e-bbe0-dbb8971fa7f8).
  "Managed HSM Backup User": ["backup/start", "backup/status"],
};

const StorageVersion = "2025-11-05";
const ApiVersions = ["7.2", "7.3", "7.4", "7.5", "7.6", "2025-07-01"];

export class ManagedHsmEmulator {
  readonly keys = new Map<string, HsmKey>();
  /** Local RBAC: principal (oid) -> role names, at scope "/". */
  readonly roles = new Map<string, Set<string>>();
  readonly jobs = new Map<string, Job>();
  /** Requests answered, by "METHOD path-shape status". */
  readonly stats = new Map<string, number>();
  private running: string | undefined;
  private server: Server | undefined;
  url = "";

  constructor(private readonly o: HsmEmulatorOptions) {}

  assign(principalId: string, role: string): void {
    if (!Roles[role]) throw new Error(`unknown Managed HSM role '${role}'`);
    const set = this.roles.get(principalId) ?? new Set<string>();
    set.add(role);
    this.roles.set(principalId, set);
  }

  unassign(principalId: string): void {
    this.roles.delete(principalId);
  }

  createKey(name: string, versions = 1): HsmKey {
    const key: HsmKey = { versions: [] };
    for (let i = 0; i < versions; i++)
      key.versions.push({
        kid: `${this.url}/keys/${name}/${randomBytes(16).toString("hex")}`,
        material: randomBytes(32).toString("base64"),
        created: Math.floor(Date.now() / 1000) + i,
      });
    this.keys.set(name, key);
    return key;
  }

  /** Waits until no job runs (tests that must not start a second one). */
  get busy(): boolean {
    return this.running !== undefined;
  }

  async start(): Promise<string> {
    this.server = createServer({ cert: this.o.tls.cert, key: this.o.tls.key }, (req, res) => {
      this.handle(req, res).catch((e: unknown) => {
        this.send(res, 500, { error: { code: "InternalServerError", message: String(e) } });
      });
    });
    const port = await listenLoopback(this.server);
    this.url = `https://127.0.0.1:${port}`;
    return this.url;
  }

  async stop(): Promise<void> {
    await closeNow(this.server);
  }

  private send(
    res: ServerResponse,
    status: number,
    body: unknown,
    headers: Record<string, string> = {},
  ): void {
    const text = JSON.stringify(body);
    res.writeHead(status, {
      "content-type": "application/json; charset=utf-8",
      "content-length": String(Buffer.byteLength(text)),
      "x-ms-request-id": randomUUID(),
      server: "Kestrel",
      ...headers,
    });
    res.end(text);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", this.url);
    const method = req.method ?? "GET";
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const count = (status: number): void => {
      const shape = url.pathname
        .replace(/\/[0-9a-f]{32}\//, "/{jobId}/")
        .replace(/^\/keys\/[^/]+\//, "/keys/{key}/");
      const k = `${method} ${shape} ${status}`;
      this.stats.set(k, (this.stats.get(k) ?? 0) + 1);
    };
    const reply = (status: number, body: unknown, headers?: Record<string, string>): void => {
      count(status);
      this.send(res, status, body, headers);
    };
    const apiVersion = url.searchParams.get("api-version");
    if (!apiVersion || !ApiVersions.includes(apiVersion))
      return reply(400, {
        error: {
          code: "BadParameter",
          message: `The specified version (${apiVersion ?? ""}) is not recognized.`,
        },
      });
    const token = /^Bearer (.+)$/i.exec(req.headers.authorization ?? "")?.[1];
    const challenge = {
      "www-authenticate": `Bearer authorization="https://login.microsoftonline.com/${this.o.tenantId}", resource="https://managedhsm.azure.net"`,
    };
    if (!token)
      return reply(
        401,
        { error: { code: "Unauthorized", message: "Request is missing a Bearer or PoP token." } },
        challenge,
      );
    const verified = verifyJwt(token, this.o.tokenKeys(), {
      audiences: ["https://managedhsm.azure.net", "https://managedhsm.azure.net/"],
      issuerPrefix: "https://sts.windows.net/",
    });
    if (!verified.ok)
      return reply(
        401,
        { error: { code: "Unauthorized", message: `Token validation failed (${verified.reason}).` } },
        challenge,
      );
    const may = (action: string): boolean =>
      [...(this.roles.get(verified.claims.oid) ?? [])].some((r) => Roles[r]?.includes(action));
    const denied = (action: string): void =>
      reply(403, {
        error: {
          code: "AccessDenied",
          message: `Not authorized to access Microsoft.KeyVault/managedHsm/${action}/action on / (Activity ID: ${randomUUID()})`,
        },
      });
    let body: Record<string, unknown> = {};
    try {
      body = chunks.length
        ? (JSON.parse(Buffer.concat(chunks).toString("utf8")) as Record<string, unknown>)
        : {};
    } catch {
      return reply(400, { error: { code: "BadParameter", message: "The request body is not valid JSON." } });
    }
    const path = url.pathname;
    const pending = /^\/(backup|restore)\/([^/]+)\/pending$/.exec(path);
    if (method === "GET" && pending) {
      if (!may(`${pending[1]}/status`)) return denied(`${pending[1]}/status`);
      const job = this.jobs.get(pending[2] as string);
      const kindOk = job && (pending[1] === "backup" ? job.kind !== "restore" : job.kind === "restore");
      if (!job || !kindOk)
        return reply(404, { error: { code: "NotFound", message: `Job ${pending[2]} was not found.` } });
      return reply(200, job.state);
    }
    if (method === "POST" && (path === "/backup" || path === "/prebackup")) {
      if (!may("backup/start")) return denied("backup/start");
      const uri = typeof body.storageResourceUri === "string" ? body.storageResourceUri : undefined;
      if (!uri)
        return reply(400, { error: { code: "BadParameter", message: "storageResourceUri is required." } });
      if (body.useManagedIdentity !== true)
        return reply(400, {
          error: {
            code: "BadParameter",
            message: "This emulator supports useManagedIdentity only (no SAS).",
          },
        });
      return this.startJob(reply, path === "/backup" ? "backup" : "prebackup", (id) =>
        path === "/backup" ? this.backup(uri) : this.preBackup(uri, id),
      );
    }
    const keyRestore = /^\/keys\/([^/]+)\/restore$/.exec(path);
    if (method === "PUT" && (keyRestore || path === "/restore")) {
      if (!may("restore/start")) return denied("restore/start");
      const sas = (body.sasTokenParameters ?? {}) as Record<string, unknown>;
      const uri = typeof sas.storageResourceUri === "string" ? sas.storageResourceUri : undefined;
      const folder = keyRestore ? body.folder : body.folderToRestore;
      if (!uri || typeof folder !== "string" || sas.useManagedIdentity !== true)
        return reply(400, {
          error: {
            code: "BadParameter",
            message: `sasTokenParameters.storageResourceUri, useManagedIdentity and ${keyRestore ? "folder" : "folderToRestore"} are required.`,
          },
        });
      const key = keyRestore ? decodeURIComponent(keyRestore[1] as string) : undefined;
      return this.startJob(reply, "restore", () => this.restore(uri, folder, key));
    }
    return reply(404, { error: { code: "NotFound", message: `No route ${method} ${path}.` } });
  }

  /** Starts a job (one at a time, as the service insists) and answers 202 with it InProgress. */
  private startJob(
    reply: (status: number, body: unknown, headers?: Record<string, string>) => void,
    kind: JobKind,
    work: (jobId: string) => Promise<{ folderUri?: string; statusDetails?: string }>,
  ): void {
    if (this.running) {
      reply(409, {
        error: {
          code: "Conflict",
          message:
            kind === "restore"
              ? "Another restore operation is in progress"
              : "Another backup operation is in progress",
        },
      });
      return;
    }
    const jobId = randomBytes(16).toString("hex");
    const startTime = Math.floor(Date.now() / 1000);
    const state: Record<string, unknown> = {
      status: "InProgress",
      statusDetails: null,
      error: null,
      startTime,
      endTime: null,
      jobId,
      ...(kind === "restore" ? {} : { azureStorageBlobContainerUri: null }),
    };
    this.jobs.set(jobId, { kind, state });
    this.running = jobId;
    work(jobId)
      .then((done) => {
        Object.assign(state, {
          status: "Succeeded",
          endTime: Math.floor(Date.now() / 1000),
          ...(done.statusDetails ? { statusDetails: done.statusDetails } : {}),
          ...(done.folderUri && kind === "backup" ? { azureStorageBlobContainerUri: done.folderUri } : {}),
        });
      })
      .catch((e: unknown) => {
        const message = e instanceof Error ? e.message : String(e);
        Object.assign(state, {
          status: "Failed",
          endTime: Math.floor(Date.now() / 1000),
          statusDetails: message,
          error: { code: "BadRequest", innererror: null, message },
        });
      })
      .finally(() => {
        this.running = undefined;
      });
    const op = kind === "restore" ? "restore" : "backup";
    reply(202, state, {
      "azure-asyncoperation": `${this.url}/${op}/${jobId}/pending`,
      ...(this.o.retryAfterSeconds === 0 ? {} : { "retry-after": String(this.o.retryAfterSeconds ?? 10) }),
    });
  }

  private async preBackup(containerUri: string, jobId: string): Promise<{ statusDetails?: string }> {
    const probe = `mhsm-prebackup-${jobId}`;
    await this.storage("PUT", containerUri, probe, Buffer.from("probe"));
    await this.storage("DELETE", containerUri, probe);
    return {};
  }

  private async backup(containerUri: string): Promise<{ folderUri: string }> {
    const now = new Date();
    const stamp =
      now.toISOString().replace(/[-:T]/g, "").slice(0, 14) +
      String(Math.floor(now.getUTCMilliseconds() / 10)).padStart(2, "0");
    const folder = `mhsm-${this.o.name}-${stamp}`;
    const names = [...this.keys.keys()].sort();
    for (const name of names)
      await this.storage(
        "PUT",
        containerUri,
        `${folder}/keys/${name}`,
        Buffer.from(JSON.stringify(this.keys.get(name))),
      );
    await this.storage(
      "PUT",
      containerUri,
      `${folder}/backup.json`,
      Buffer.from(JSON.stringify({ hsm: this.o.name, keys: names, created: now.toISOString() })),
    );
    return { folderUri: `${containerUri.replace(/\/$/, "")}/${folder}` };
  }

  private async restore(
    containerUri: string,
    folder: string,
    key: string | undefined,
  ): Promise<{ statusDetails: string }> {
    const index = JSON.parse(
      (await this.storage("GET", containerUri, `${folder}/backup.json`)).toString("utf8"),
    ) as {
      keys: string[];
    };
    if (key === undefined) {
      const restored = new Map<string, HsmKey>();
      for (const name of index.keys)
        restored.set(
          name,
          JSON.parse(
            (await this.storage("GET", containerUri, `${folder}/keys/${name}`)).toString("utf8"),
          ) as HsmKey,
        );
      this.keys.clear();
      for (const [n, k] of restored) this.keys.set(n, k);
      return { statusDetails: `Number of keys restored: ${restored.size}` };
    }
    if (!index.keys.includes(key))
      throw new Error(`Invalid backup: Reason: key '${key}' is not in backup folder '${folder}'`);
    const saved = JSON.parse(
      (await this.storage("GET", containerUri, `${folder}/keys/${key}`)).toString("utf8"),
    ) as HsmKey;
    // The service does not overwrite a key that exists: it restores nothing and says how many it could not overwrite.
    if (this.keys.has(key))
      return {
        statusDetails: `Number of successful key versions restored: 0, Number of key versions could not overwrite: ${saved.versions.length}`,
      };
    this.keys.set(key, saved);
    return {
      statusDetails: `Number of successful key versions restored: ${saved.versions.length}, Number of key versions could not overwrite: 0`,
    };
  }

  /** One Blob service call as the HSM itself (bearer token of its own identity). */
  private storage(
    method: "PUT" | "GET" | "DELETE",
    containerUri: string,
    blob: string,
    body?: Buffer,
  ): Promise<Buffer> {
    const target = new URL(
      `${containerUri.replace(/\/$/, "")}/${blob.split("/").map(encodeURIComponent).join("/")}`,
    );
    return new Promise((resolve, reject) => {
      const req = request(
        {
          host: target.hostname,
          port: target.port,
          path: `${target.pathname}${target.search}`,
          method,
          ca: this.o.tls.ca,
          headers: {
            authorization: `Bearer ${this.o.storageToken()}`,
            "x-ms-version": StorageVersion,
            "x-ms-date": new Date().toUTCString(),
            ...(method === "PUT"
              ? { "x-ms-blob-type": "BlockBlob", "content-length": String(body?.length ?? 0) }
              : {}),
          },
        },
        (res) => {
          const parts: Buffer[] = [];
          res.on("data", (c: Buffer) => parts.push(c));
          res.on("end", () => {
            const status = res.statusCode ?? 0;
            if (status < 300) return resolve(Buffer.concat(parts));
            const code =
              res.headers["x-ms-error-code"] ??
              /<Code>([^<]+)<\/Code>/.exec(Buffer.concat(parts).toString("utf8"))?.[1];
            reject(
              new Error(
                `Storage request failed: ${method} ${target.pathname} returned ${status} (${code ?? "no code"})`,
              ),
            );
          });
        },
      );
      req.on("error", reject);
      req.end(body);
    });
  }
}
