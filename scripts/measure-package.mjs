// npm run package:measure — what kvbackup ships, measured:
//   the Functions package (npm run package): size on disk, files, zipped size, and the time from
//     importing its entry to every function registered, with telemetry on (an Application Insights
//     connection string to loopback; the test network guard makes anything else unreachable), each
//     load in a fresh process as a cold start is;
//   the CLI (npm pack, installed offline into an empty folder): size on disk, files, and the time
//     `kvbackup --version` and `kvbackup --help` take, plain node, from outside any checkout.
// Prints one JSON document and writes it to .local/package/measure.json.
//   node scripts/measure-package.mjs [--app DIR] [--runs N] [--no-cli]
import { execFileSync, spawnSync } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";

const root = join(import.meta.dirname, "..");
const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const app = arg("--app", join(root, ".local", "package", "app"));
const runs = Number(arg("--runs", "9"));
if (!existsSync(join(app, "package.json"))) {
  console.error(`no package in ${app}: run npm run package first`);
  process.exit(2);
}

/** Bytes as files hold them, bytes the disk gives them (4 KiB blocks), and the file count. */
function walk(dir) {
  const total = { bytes: 0, disk: 0, files: 0 };
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      const sub = walk(p);
      total.bytes += sub.bytes;
      total.disk += sub.disk;
      total.files += sub.files;
    } else if (e.isFile()) {
      const s = statSync(p);
      total.bytes += s.size;
      total.disk += s.blocks * 512;
      total.files += 1;
    }
  }
  return total;
}
const mb = (n) => Math.round((n / 1048576) * 10) / 10;
const stats = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return { median: s[Math.floor(s.length / 2)], min: s[0], max: s.at(-1), runs: s.length };
};
const work = mkdtempSync(join(tmpdir(), "kvbackup-measure-"));
const result = {
  node: process.version,
  cpus: cpus().length,
  loadavg: loadavg()[0].toFixed(2),
  at: new Date().toISOString(),
};

try {
  // The Functions package, loaded as the worker loads it (test/package/loadAsWorker.mjs).
  const core = join(work, "stubs", "@azure", "functions-core");
  mkdirSync(core, { recursive: true });
  writeFileSync(
    join(core, "package.json"),
    JSON.stringify({ name: "@azure/functions-core", main: "index.js" }),
  );
  cpSync(join(root, "test", "package", "functionsCoreStub.cjs"), join(core, "index.js"));
  const env = {
    PATH: process.env.PATH ?? "",
    NODE_PATH: join(work, "stubs"),
    BACKUP_VAULTS: "contoso-kv",
    BACKUP_DRILL_VAULT: "contoso-drill-kv",
    BACKUP_STORAGE__blobServiceUri: "https://kvbackupdata.blob.core.windows.net",
    BACKUP_STORAGE__credential: "managedidentity",
    APPLICATIONINSIGHTS_CONNECTION_STRING:
      "InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint=https://127.0.0.1:9/;LiveEndpoint=https://127.0.0.1:9/",
  };
  // Loaded from a copy away from the checkout, as Azure has it (nothing of ours around it to find).
  const deployed = join(work, "wwwroot");
  cpSync(app, deployed, { recursive: true });
  const loads = [];
  let registered = 0;
  for (let i = 0; i < runs; i++) {
    const out = execFileSync(
      process.execPath,
      [join(root, "test", "package", "loadAsWorker.mjs"), deployed, "--timed"],
      { env, encoding: "utf8" },
    );
    const doc = JSON.parse(out.trim().split("\n").at(-1));
    loads.push(doc.loadMs);
    registered = doc.registrations.length;
  }
  const onDisk = walk(app);
  const zip = join(app, "..", "kvbackup.zip");
  result.functionsPackage = {
    dir: app,
    diskMb: mb(onDisk.disk),
    bytesMb: mb(onDisk.bytes),
    files: onDisk.files,
    zipMb: existsSync(zip) ? mb(statSync(zip).size) : null,
    functionsRegistered: registered,
    telemetry: true,
    loadMs: stats(loads),
  };

  // The CLI, as an operator installs it.
  if (!process.argv.includes("--no-cli")) {
    const packed = execFileSync("npm", ["pack", "--silent", "--pack-destination", work], {
      cwd: root,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "inherit"],
    })
      .trim()
      .split("\n")
      .at(-1);
    const install = join(work, "operator");
    mkdirSync(install);
    writeFileSync(join(install, "package.json"), JSON.stringify({ name: "operator-machine", private: true }));
    execFileSync(
      "npm",
      [
        "install",
        "--omit=dev",
        "--offline",
        "--no-audit",
        "--no-fund",
        "--loglevel=error",
        join(work, packed),
      ],
      { cwd: install, stdio: "inherit" },
    );
    const bin = join(install, "node_modules", ".bin", "kvbackup");
    const timed = (args) => {
      const ms = [];
      for (let i = 0; i < runs; i++) {
        const t = performance.now();
        const r = spawnSync(process.execPath, [bin, ...args], {
          cwd: work,
          env: { PATH: env.PATH, HOME: work },
        });
        if (r.status !== 0) throw new Error(`kvbackup ${args.join(" ")} exited ${r.status}: ${r.stderr}`);
        ms.push(Math.round(performance.now() - t));
      }
      return stats(ms);
    };
    const installed = walk(join(install, "node_modules"));
    result.cli = {
      tarballMb: mb(statSync(join(work, packed)).size),
      diskMb: mb(installed.disk),
      files: installed.files,
      versionMs: timed(["--version"]),
      helpMs: timed(["--help"]),
    };
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
mkdirSync(join(root, ".local", "package"), { recursive: true });
writeFileSync(join(root, ".local", "package", "measure.json"), `${JSON.stringify(result, null, 2)}\n`);
console.log(JSON.stringify(result, null, 2));
