import { createHash, randomUUID } from "node:crypto";
import type { HsmFolders, HsmPort } from "../../../src/backup/ports.js";
import { KvBackupError } from "../../../src/domain/errors.js";
import type { HsmJobState } from "../../../src/domain/hsmBackup.js";

/** The HSM containers in memory: container -> blob name -> bytes. */
export class MemoryHsmFolders implements HsmFolders {
  readonly containers = new Map<string, Map<string, Buffer>>();

  containerUri(container: string): string {
    return `https://account.blob.core.windows.net/${container}`;
  }

  async ensure(container: string): Promise<void> {
    if (!this.containers.has(container)) this.containers.set(container, new Map());
  }

  async files(container: string, folder: string) {
    const blobs = this.containers.get(container) ?? new Map<string, Buffer>();
    return [...blobs.entries()]
      .filter(([n]) => n.startsWith(`${folder}/`))
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([name, b]) => ({ name, bytes: b.length, sha256: createHash("sha256").update(b).digest("hex") }));
  }
}

const refusal = (status: number, code: string, message: string): KvBackupError =>
  new KvBackupError("KeyVaultFailed", message, { failure: { service: "keyvault", status, code, message } });

/**
 * An HSM whose jobs end as the test says: by default a backup writes one file per key into the
 * container, and a selective restore restores the key's versions (when it is absent).
 */
export class MemoryHsm {
  keys = new Map<string, number>([["hsm-key-1", 2]]);
  refuseNext: KvBackupError | undefined;
  failJob?: HsmJobState["error"];
  neverEnds = false;
  writeNothing = false;
  private jobs = new Map<string, HsmJobState>();
  started = 0;

  constructor(
    readonly name: string,
    private readonly folders: MemoryHsmFolders,
  ) {}

  static refusal = refusal;

  private job(state: Omit<HsmJobState, "jobId">): HsmJobState {
    const jobId = randomUUID().replaceAll("-", "");
    const s = { ...state, jobId };
    this.jobs.set(jobId, s);
    return { ...s, status: "InProgress" };
  }

  private take(): void {
    const r = this.refuseNext;
    if (r) {
      this.refuseNext = undefined;
      throw r;
    }
  }

  private end(ok: Omit<HsmJobState, "jobId">): Omit<HsmJobState, "jobId"> {
    if (this.neverEnds) return { status: "InProgress" };
    if (this.failJob) return { status: "Failed", error: this.failJob };
    return ok;
  }

  port(): HsmPort {
    return {
      preBackup: async () => {
        this.take();
        return this.job(this.end({ status: "Succeeded" }));
      },
      startBackup: async (uri) => {
        this.take();
        this.started++;
        const container = new URL(uri).pathname.split("/")[1] as string;
        const folder = `mhsm-${this.name}-2026112602000000`;
        const end = this.end({ status: "Succeeded", folderUri: `${uri}/${folder}` });
        if (end.status === "Succeeded" && !this.writeNothing) {
          const blobs = this.folders.containers.get(container) ?? new Map<string, Buffer>();
          this.folders.containers.set(container, blobs);
          for (const [k, versions] of this.keys) blobs.set(`${folder}/${k}`, Buffer.from(`${k}:${versions}`));
        }
        return this.job(end);
      },
      backupStatus: async (jobId) => this.jobs.get(jobId) ?? { jobId, status: "Failed" },
      startKeyRestore: async (_uri, _folder, key) => {
        this.take();
        const there = this.keys.has(key);
        return this.job(
          this.end({
            status: "Succeeded",
            statusDetails: `Number of successful key versions restored: ${there ? 0 : 2}, Number of key versions could not overwrite: ${there ? 2 : 0}`,
          }),
        );
      },
      startFullRestore: async () => {
        this.take();
        return this.job(this.end({ status: "Succeeded" }));
      },
      restoreStatus: async (jobId) => this.jobs.get(jobId) ?? { jobId, status: "Failed" },
    };
  }
}
