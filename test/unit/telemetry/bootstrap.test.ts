import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { GuardedNodeArgs } from "../../setup/guardedNode.js";

const root = join(import.meta.dirname, "..", "..", "..");

describe("telemetry that cannot start", () => {
  it("does not stop the app: one line in the host's log says why, and the app runs on without it", () => {
    const r = spawnSync(
      process.execPath,
      [...GuardedNodeArgs, "test/unit/telemetry/startTelemetry.ts", "InstrumentationKey=not-a-guid"],
      {
        cwd: root,
        encoding: "utf8",
        env: {
          PATH: process.env.PATH ?? "",
          IDENTITY_ENDPOINT: "http://127.0.0.1:1/msi/token",
          IDENTITY_HEADER: "h",
        },
      },
    );
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout.trim().split("\n").at(-1) as string)).toEqual({ started: false });
    expect(r.stderr).toMatch(/^kvbackup: telemetry did not start \(.+\); the app runs without it/m);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
