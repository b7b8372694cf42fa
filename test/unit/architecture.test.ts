import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";

/**
 * The layers of src/ (docs/architecture.md), read from the imports themselves. Arrows point down
 * only: triggers and the CLI -> engine -> ports <- adapters -> domain.
 */
const root = resolve(import.meta.dirname, "..", "..", "src");

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : [],
  );
}

/** The room a file lives in: its top folder under src/, or its own name for files at the top. */
const room = (file: string): string => {
  const rel = relative(root, file).replace(/\\/g, "/");
  return rel.includes("/") ? (rel.split("/")[0] as string) : rel.replace(/\.ts$/, "");
};

/** Rooms each room may import (besides itself), and the npm packages it may use. */
const Rules: Record<string, { rooms: string[]; packages: RegExp }> = {
  domain: { rooms: [], packages: /^(zod|@azure\/abort-controller)$/ },
  diagnosis: { rooms: ["domain"], packages: /^$/ },
  backup: { rooms: ["domain", "diagnosis"], packages: /^$/ },
  keyvault: { rooms: ["domain"], packages: /^@azure\/(core-auth|core-rest-pipeline|keyvault-[a-z]+)$/ },
  arm: { rooms: ["domain"], packages: /^@azure\/(core-auth|arm-keyvault)$/ },
  storage: { rooms: ["domain"], packages: /^@azure\/(core-auth|storage-blob|storage-queue|data-tables)$/ },
  telemetry: {
    rooms: ["domain"],
    packages:
      /^(@opentelemetry\/.+|@azure\/(core-tracing|identity|monitor-opentelemetry|opentelemetry-instrumentation-azure-sdk))$/,
  },
  settings: { rooms: ["domain"], packages: /^zod$/ },
  loadConfig: { rooms: ["domain", "settings"], packages: /^zod$/ },
  identity: { rooms: ["domain"], packages: /^@azure\/(core-auth|identity)$/ },
  app: { rooms: ["domain", "backup", "keyvault", "storage", "arm", "telemetry", "identity"], packages: /^$/ },
  functions: { rooms: ["domain", "diagnosis", "backup"], packages: /^(@azure\/functions|zod)$/ },
  cli: { rooms: ["domain", "diagnosis", "backup", "app", "loadConfig"], packages: /^$/ },
  index: { rooms: ["app", "loadConfig", "functions", "telemetry"], packages: /^@azure\/functions$/ },
};

function importsOf(file: string): string[] {
  const text = readFileSync(file, "utf8");
  return [
    ...text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^;]*?\sfrom\s+"([^"]+)"/g),
    ...text.matchAll(/import\("([^"]+)"\)/g),
  ].map((m) => m[1] as string);
}

describe("the layers of src/", () => {
  const all = files(root);

  it("every file is in a room with rules", () => {
    expect(all.map(room).filter((r) => !Rules[r])).toEqual([]);
  });

  it("every import points down: to an allowed room, or an allowed package", () => {
    const broken: string[] = [];
    for (const file of all) {
      const from = room(file);
      const rule = Rules[from] as (typeof Rules)[string];
      for (const spec of importsOf(file)) {
        if (spec.startsWith("node:")) continue;
        if (spec.startsWith(".")) {
          const to = room(resolve(dirname(file), spec.replace(/\.js$/, ".ts")));
          if (to !== from && !rule.rooms.includes(to))
            broken.push(`${relative(root, file)} -> ${to} (${spec})`);
        } else if (
          !rule.packages.test(
            spec
              .split("/")
              .slice(0, spec.startsWith("@") ? 2 : 1)
              .join("/"),
          )
        )
          broken.push(`${relative(root, file)} -> package ${spec}`);
      }
    }
    expect(broken).toEqual([]);
  });

  it("nothing imports a trigger: only the entry point reaches functions/, nothing reaches cli/", () => {
    const offenders = all
      .filter((f) => room(f) !== "index")
      .flatMap((f) =>
        importsOf(f)
          .filter((spec) => spec.startsWith("."))
          .map((spec) => [room(f), room(resolve(dirname(f), spec.replace(/\.js$/, ".ts")))] as const)
          .filter(([from, to]) => from !== to && (to === "functions" || to === "cli")),
      );
    expect(offenders).toEqual([]);
  });

  it("the engine has one front door: from outside src/backup, only backup/engine.ts is imported", () => {
    const door = join(root, "backup", "engine.ts");
    const offenders = all
      .filter((f) => room(f) !== "backup")
      .flatMap((f) =>
        importsOf(f)
          .filter((spec) => spec.startsWith("."))
          .map((spec) => resolve(dirname(f), spec.replace(/\.js$/, ".ts")))
          .filter((target) => room(target) === "backup" && target !== door)
          .map((target) => `${relative(root, f)} -> ${relative(root, target)}`),
      );
    expect(offenders).toEqual([]);
  });

  it("no import circle in src/: no file reaches itself through the files it imports", () => {
    const edges = new Map(
      all.map((f) => [
        f,
        importsOf(f)
          .filter((spec) => spec.startsWith("."))
          .map((spec) => resolve(dirname(f), spec.replace(/\.js$/, ".ts"))),
      ]),
    );
    const circles: string[] = [];
    const state = new Map<string, "open" | "done">();
    const visit = (f: string, path: string[]): void => {
      if (state.get(f) === "done") return;
      if (state.get(f) === "open") {
        circles.push([...path.slice(path.indexOf(f)), f].map((p) => relative(root, p)).join(" -> "));
        return;
      }
      state.set(f, "open");
      for (const to of edges.get(f) ?? []) visit(to, [...path, f]);
      state.set(f, "done");
    };
    for (const f of all) visit(f, []);
    expect(circles).toEqual([]);
  });

  it("the engine's folders (run/, hsm/, drill/, restore/, catalog/) import one another without a loop", () => {
    const folder = (f: string): string | undefined =>
      relative(join(root, "backup"), f).split("/").slice(0, -1)[0];
    const edges = new Map<string, Set<string>>();
    for (const f of all.filter((f) => room(f) === "backup" && folder(f)))
      for (const spec of importsOf(f).filter((s) => s.startsWith("."))) {
        const to = folder(resolve(dirname(f), spec.replace(/\.js$/, ".ts")));
        const from = folder(f) as string;
        if (to && !to.startsWith("..") && to !== from)
          edges.set(from, (edges.get(from) ?? new Set()).add(to));
      }
    const reaches = (from: string, to: string, seen = new Set<string>()): boolean =>
      [...(edges.get(from) ?? [])].some(
        (n) => n === to || (!seen.has(n) && seen.add(n) && reaches(n, to, seen)),
      );
    expect([...edges.keys()].filter((f) => reaches(f, f))).toEqual([]);
  });

  it("every file name in src/ is unique: one name, one thing", () => {
    const byName = new Map<string, string[]>();
    for (const f of all)
      byName.set(f.split("/").at(-1) as string, [
        ...(byName.get(f.split("/").at(-1) as string) ?? []),
        relative(root, f),
      ]);
    expect([...byName.values()].filter((paths) => paths.length > 1)).toEqual([]);
  });

  it("no file is over 300 lines", () => {
    const long = all
      .map((f) => [relative(root, f), readFileSync(f, "utf8").split("\n").length] as const)
      .filter(([, n]) => n > 300);
    expect(long).toEqual([]);
  });
});
