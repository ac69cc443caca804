#!/usr/bin/env node
// `npm run pack`: the two installable tarballs, for machines that never see this repository.
//
//   dist-packages/private-connect-agent-<version>.tgz   `connect` and the SDK (apps/agent)
//   dist-packages/private-connect-hub-<version>.tgz     `connect-hub`, `connect-hub-dashboard`
//                                                       (apps/hub, and apps/web's built dashboard)
//
// Install either with `npm install -g ./dist-packages/<file>.tgz`. Run `npm run build` first
// (`npm run pack` does). Options: --out DIR (default ./dist-packages), --only agent|hub.
//
// How the workspace packages get in: each tarball is packed from a staged copy (in a temp dir,
// outside the npm workspace, so npm treats it as a plain package), whose node_modules holds the
// built @private-connect/* packages it needs at run time, listed as bundleDependencies. npm packs
// bundled packages into the tarball and installs them from it, never from the registry (where
// these private names do not exist). Rewriting imports into a single bundle would need a bundler
// (a new dependency) and would lose the SDK's type declarations; staging keeps every package's
// own exports map working unchanged. The third-party dependencies of the bundled packages are
// lifted into the staged package's own dependencies: npm does not install what a bundled
// package needs, and from node_modules/@private-connect/<name> Node finds them one level up.
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const SCOPE = "@private-connect/";

/**
 * Names the agent tarball must never contain or depend on, whatever route: the agent imports
 * the API's types only (ARCHITECTURE.md), and a user installing `connect` on a laptop must not
 * get a database engine with it.
 */
const SERVER_ONLY_PACKAGES = [
  "@private-connect/hub",
  "@private-connect/api",
  "@private-connect/db",
  "@private-connect/web",
  "@prisma/client",
  "@prisma/adapter-pg",
  "prisma",
  "@electric-sql/pglite",
  "pglite-prisma-adapter",
  "pg",
  "next",
];

function fail(message) {
  process.stderr.write(`Error: ${message}\n`);
  process.exit(1);
}

function readJson(path) {
  return JSON.parse(readFileSync(path, "utf8"));
}

/** Every workspace package by name: its folder and manifest. */
function readWorkspace() {
  const packages = new Map();
  for (const group of ["packages", "apps"]) {
    for (const entry of readdirSync(join(root, group))) {
      const dir = join(root, group, entry);
      if (!existsSync(join(dir, "package.json"))) continue;
      const manifest = readJson(join(dir, "package.json"));
      packages.set(manifest.name, { dir, manifest });
    }
  }
  return packages;
}

/** The workspace packages `name` needs at run time, transitively (dependencies and peers). */
function collectBundled(workspace, name) {
  const found = new Set();
  const visit = (current) => {
    const { manifest } = workspace.get(current);
    for (const dep of Object.keys({ ...manifest.dependencies, ...manifest.peerDependencies })) {
      if (!dep.startsWith(SCOPE) || found.has(dep)) continue;
      if (!workspace.has(dep)) fail(`${current} depends on ${dep}, which is not in this workspace`);
      found.add(dep);
      visit(dep);
    }
  };
  visit(name);
  return [...found].sort();
}

/** Third-party dependencies of the product and of what it bundles, one range per name. */
function mergeThirdParty(workspace, names) {
  const merged = {};
  const from = {};
  for (const name of names) {
    const { manifest } = workspace.get(name);
    // A bundled package's third-party peers (pino for log-hygiene) are the product's to choose;
    // its dependencies become the product's.
    for (const [dep, range] of Object.entries(manifest.dependencies ?? {})) {
      if (dep.startsWith(SCOPE)) continue;
      if (merged[dep] !== undefined && merged[dep] !== range)
        fail(`${dep} is wanted as ${merged[dep]} by ${from[dep]} and as ${range} by ${name}: align the two package.json files`);
      merged[dep] = range;
      from[dep] = name;
    }
  }
  return merged;
}

/** Source maps point at src/, which is not shipped; the rest is what the package lists in "files". */
const isShipped = (path) => !path.endsWith(".map");

function copyPackageFiles(dir, manifest, dest) {
  mkdirSync(dest, { recursive: true });
  for (const entry of manifest.files ?? []) {
    const source = join(dir, entry);
    if (!existsSync(source)) fail(`${relative(root, source)} is missing: run npm run build first`);
    cpSync(source, join(dest, entry), { recursive: true, filter: isShipped });
  }
}

/** A manifest for the staged copy: what an installed package uses, no scripts or dev tooling. */
function installableManifest(manifest, overrides) {
  const kept = {};
  for (const key of ["name", "version", "description", "type", "exports", "bin", "oclif", "files", "engines"]) {
    if (manifest[key] !== undefined) kept[key] = manifest[key];
  }
  for (const key of ["dependencies", "peerDependencies", "peerDependenciesMeta"]) {
    if (manifest[key] !== undefined) kept[key] = manifest[key];
  }
  return { ...kept, ...overrides };
}

function stageProduct(workspace, name, stageDir) {
  const { dir, manifest } = workspace.get(name);
  copyPackageFiles(dir, manifest, stageDir);
  const bundled = collectBundled(workspace, name);
  for (const dep of bundled) {
    const pkg = workspace.get(dep);
    const dest = join(stageDir, "node_modules", ...dep.split("/"));
    copyPackageFiles(pkg.dir, pkg.manifest, dest);
    // Only the bundled siblings stay declared here. npm counts whatever a bundled package
    // declares as part of the bundle and extracts it from the tarball, leaving an empty folder
    // for a registry package such as zod; declared by the product instead, it is installed.
    const bundledManifest = installableManifest(pkg.manifest, {
      dependencies: onlyWorkspace(pkg.manifest.dependencies),
      peerDependencies: onlyWorkspace(pkg.manifest.peerDependencies),
      peerDependenciesMeta: undefined,
    });
    writeFileSync(join(dest, "package.json"), `${JSON.stringify(bundledManifest, null, 2)}\n`);
  }
  const dependencies = mergeThirdParty(workspace, [name, ...bundled]);
  for (const dep of bundled) dependencies[dep] = workspace.get(dep).manifest.version;
  const rootManifest = readJson(join(root, "package.json"));
  return {
    manifest,
    bundled,
    staged: installableManifest(manifest, {
      description: manifest.description ?? rootManifest.description,
      engines: rootManifest.engines,
      dependencies: sortKeys(dependencies),
      bundleDependencies: bundled,
    }),
  };
}

/** The @private-connect/* entries of a dependency record, or undefined when there are none. */
function onlyWorkspace(record) {
  const kept = Object.entries(record ?? {}).filter(([dep]) => dep.startsWith(SCOPE));
  return kept.length === 0 ? undefined : Object.fromEntries(kept);
}

function sortKeys(record) {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => a.localeCompare(b)));
}

function assertNoServerCode(staged, stageDir) {
  const named = Object.keys(staged.dependencies ?? {}).filter((dep) => SERVER_ONLY_PACKAGES.includes(dep));
  if (named.length > 0) fail(`the agent would depend on server code: ${named.join(", ")}`);
  for (const pkg of SERVER_ONLY_PACKAGES) {
    if (existsSync(join(stageDir, "node_modules", ...pkg.split("/")))) fail(`the agent would ship server code: ${pkg}`);
  }
}

// ---------------------------------------------------------------------------------------------
// The dashboard inside the hub's tarball.

/** Build products of `next build` that `next start` does not read. */
const NEXT_BUILD_ONLY = new Set(["cache", "trace", "trace-build", "diagnostics", "types"]);

/**
 * apps/web's built dashboard into <stage>/web: server.mjs, .next (what the production server
 * reads) and next.config as plain JS. The hub package then depends on next, react and react-dom
 * at the versions the build was made with: .next is tied to the exact next that produced it.
 * Everything else the dashboard imports is compiled into .next already.
 */
function stageDashboard(workspace, stageDir, dependencies) {
  const web = workspace.get("@private-connect/web");
  const nextDir = join(web.dir, ".next");
  if (!existsSync(join(nextDir, "BUILD_ID"))) fail("the dashboard is not built (apps/web/.next): run npm run build first");
  const dest = join(stageDir, "web");
  mkdirSync(dest, { recursive: true });
  cpSync(join(web.dir, "server.mjs"), join(dest, "server.mjs"));
  cpSync(nextDir, join(dest, ".next"), {
    recursive: true,
    filter: (path) => {
      const inside = relative(nextDir, path);
      return inside === "" || (!NEXT_BUILD_ONLY.has(inside.split(sep)[0]) && isShipped(path));
    },
  });
  // The build machine's absolute paths. Run through next() (server.mjs), the server takes its
  // settings from next.config.mjs; of this file it reads only flags. Relative to the dashboard's
  // folder, they hold nothing of the machine the tarball was made on.
  const webPosix = web.dir.split(sep).join("/");
  const rootPosix = root.split(sep).join("/");
  for (const file of ["required-server-files.json", "required-server-files.js"]) {
    const path = join(dest, ".next", file);
    if (!existsSync(path)) continue;
    const text = readFileSync(path, "utf8")
      .replaceAll(`${webPosix}/`, "./")
      .replaceAll(webPosix, ".")
      .replaceAll(`${rootPosix}/`, "./")
      .replaceAll(rootPosix, ".");
    writeFileSync(path, text);
  }
  writeFileSync(join(dest, "next.config.mjs"), transpileNextConfig(join(web.dir, "next.config.ts")));
  const requireFromWeb = createRequire(join(web.dir, "package.json"));
  for (const dep of ["next", "react", "react-dom"]) {
    if (web.manifest.dependencies?.[dep] === undefined) fail(`apps/web no longer depends on ${dep}: update scripts/pack.mjs`);
    dependencies[dep] = readJson(requireFromWeb.resolve(`${dep}/package.json`)).version;
  }
}

/**
 * next.config.ts as JavaScript: the installed dashboard must not need a TypeScript compiler (nor
 * Next's native one) to read its own settings. typescript is this repository's dev dependency.
 */
function transpileNextConfig(path) {
  const ts = createRequire(import.meta.url)("typescript");
  const { outputText } = ts.transpileModule(readFileSync(path, "utf8"), {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: false },
    fileName: "next.config.ts",
  });
  return `// Generated by scripts/pack.mjs from apps/web/next.config.ts.\n${outputText}`;
}

// ---------------------------------------------------------------------------------------------

function packStaged(stageDir, outDir) {
  const output = execFileSync("npm", ["pack", "--json", "--ignore-scripts", "--pack-destination", outDir], {
    cwd: stageDir,
    encoding: "utf8",
    env: { ...process.env, npm_config_workspaces: "false", npm_config_update_notifier: "false", npm_config_fund: "false" },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const [packed] = JSON.parse(output);
  return {
    file: join(outDir, packed.filename),
    size: packed.size,
    unpackedSize: packed.unpackedSize,
    entryCount: packed.entryCount,
  };
}

const PRODUCTS = {
  agent: { name: "@private-connect/agent" },
  hub: { name: "@private-connect/hub", withDashboard: true },
};

/** Packs the products asked for into outDir; returns what it wrote. */
function packAll({ outDir = join(root, "dist-packages"), only } = {}) {
  const workspace = readWorkspace();
  mkdirSync(outDir, { recursive: true });
  const results = [];
  for (const [key, product] of Object.entries(PRODUCTS)) {
    if (only && only !== key) continue;
    const stageDir = mkdtempSync(join(tmpdir(), `pc-pack-${key}-`));
    try {
      const { staged, manifest } = stageProduct(workspace, product.name, stageDir);
      if (product.withDashboard) {
        stageDashboard(workspace, stageDir, staged.dependencies);
        staged.dependencies = sortKeys(staged.dependencies);
        staged.files = [...new Set([...(staged.files ?? []), "web"])];
      } else {
        assertNoServerCode(staged, stageDir);
      }
      writeFileSync(join(stageDir, "package.json"), `${JSON.stringify(staged, null, 2)}\n`);
      const prefix = `${manifest.name.slice(1).replace("/", "-")}-`;
      for (const old of readdirSync(outDir)) if (old.startsWith(prefix) && old.endsWith(".tgz")) rmSync(join(outDir, old));
      results.push({ key, version: manifest.version, ...packStaged(stageDir, outDir) });
    } finally {
      rmSync(stageDir, { recursive: true, force: true });
    }
  }
  return results;
}

const megabytes = (bytes) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

let values;
try {
  ({ values } = parseArgs({ options: { out: { type: "string" }, only: { type: "string" } } }));
} catch (error) {
  fail(`${error.message}\nUsage: node scripts/pack.mjs [--out DIR] [--only agent|hub]`);
}
if (values.only && !(values.only in PRODUCTS)) fail(`Unknown --only "${values.only}": use agent or hub`);
const results = packAll({ outDir: values.out ? resolve(values.out) : undefined, only: values.only });
for (const result of results) {
  process.stdout.write(
    `${relative(process.cwd(), result.file) || result.file}  ${megabytes(result.size)} packed, ${megabytes(result.unpackedSize)} unpacked, ${result.entryCount} files\n`,
  );
}
process.stdout.write(
  "Install on another machine: npm install -g ./<file>.tgz (third-party dependencies come from the npm registry)\n",
);
