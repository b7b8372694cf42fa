import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { defineConfig } from "vitest/config";
import { createStackTls } from "./test/stack/tls.js";

// The stack's TLS is made once per test run, here, before any worker starts: Node reads
// NODE_EXTRA_CA_CERTS only at process start, and the forked workers inherit this environment.
if (!process.env.KVBACKUP_TEST_TLS_DIR) {
  const dir = resolve(".local", `test-tls-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  const tls = createStackTls();
  writeFileSync(join(dir, "ca.pem"), tls.caPem);
  writeFileSync(join(dir, "cert.pem"), tls.certPem);
  writeFileSync(join(dir, "key.pem"), tls.keyPem, { mode: 0o600 });
  process.env.KVBACKUP_TEST_TLS_DIR = dir;
  process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
  process.env.NODE_EXTRA_CA_CERTS = join(dir, "ca.pem");
}

// Projects: unit (no servers; with it the package's tests: the deployed package loaded as the
// worker loads it, which globalSetup builds when stale) and infra (the compiled ARM JSON; npm run
// infra:check builds it) run first; then integration: the local Azure's own tests (test/integration/emulator)
// and the app through the real SDKs against it. It keeps one local stack per worker: isolate is
// off, so a worker's test files run one after another in one process and startTestStack() gives
// each file its own vaults and container.
const shared = { isolate: false, maxWorkers: 3 } as const;

export default defineConfig({
  test: {
    pool: "forks",
    reporters: ["default", "json"],
    outputFile: { json: ".local/test-results.json" },
    setupFiles: ["test/setup/guard.setup.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    projects: [
      {
        extends: true,
        test: {
          name: "unit",
          // The package's tests run with the unit tests: projects of one group run one after
          // another, and these wait on child processes while the unit tests compute.
          include: ["test/unit/**/*.test.ts", "test/package/**/*.test.ts"],
          globalSetup: ["test/package/globalSetup.ts"],
          isolate: false,
          maxWorkers: 2,
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          name: "infra",
          include: ["test/infra/**/*.test.ts"],
          maxWorkers: 2,
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          name: "integration",
          include: ["test/integration/**/*.test.ts"],
          ...shared,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
