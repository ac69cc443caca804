#!/usr/bin/env node
// Import boundaries that biome and tsc cannot see, checked by `npm run lint`:
//
// - client-imports-server: the agent (apps/agent) and the dashboard's browser code ship no server
//   code, so they may import @private-connect/api and @private-connect/db only with `import type`.
//   `import { type X }` does not count: under verbatimModuleSyntax it still loads the module.
//   Browser code is every apps/web file that says "use client", everything under
//   apps/web/src/components, and every file those import at run time (Next bundles all of it).
// - reaches-into-src: no import reaches into another package's src/, neither by a relative path
//   (`../../packages/api/src/...`) nor by a package name (`@private-connect/api/src/...`).
//   Each package has an exports map; what another package needs goes through it.
//
// Usage: node scripts/check-imports.mjs [root]   (root defaults to this repository)
// Prints one line per violation, `file:line: rule: message`, and exits 1 if there is any.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const SOURCE_FILE = /\.(ts|tsx|mts|cts|js|jsx|mjs|cjs)$/;
const SKIPPED_DIRECTORIES = new Set([
  "node_modules",
  "dist",
  ".next",
  ".turbo",
  ".git",
  ".data",
  "generated",
  "test-results",
  "coverage",
]);
const SERVER_PACKAGE = /^@private-connect\/(api|db)(\/|$)/;
const PACKAGE_SRC_BY_NAME = /^@private-connect\/([^/]+)\/src(\/|$)/;
const PACKAGE_SRC_BY_PATH = /^(apps|packages)\/([^/]+)\/src(\/|$)/;
const WEB_SRC = "apps/web/src/";
const WEB_COMPONENTS = "apps/web/src/components/";
const RESOLVE_SUFFIXES = ["", ".ts", ".tsx", ".js", ".jsx", ".mjs", "/index.ts", "/index.tsx", "/index.js"];

/** Every source file under root, as a path relative to root with forward slashes. */
function listSourceFiles(root) {
  const files = [];
  const walk = (directory) => {
    for (const entry of readdirSync(join(root, directory), { withFileTypes: true })) {
      const path = directory === "" ? entry.name : `${directory}/${entry.name}`;
      if (entry.isDirectory()) {
        if (!SKIPPED_DIRECTORIES.has(entry.name) && path !== "bench/results") walk(path);
      } else if (entry.isFile() && SOURCE_FILE.test(entry.name) && !entry.name.endsWith(".d.ts")) {
        files.push(path);
      }
    }
  };
  walk("");
  return files.sort();
}

function scriptKindOf(path) {
  if (path.endsWith(".tsx")) return ts.ScriptKind.TSX;
  if (path.endsWith(".jsx")) return ts.ScriptKind.JSX;
  if (/\.(js|mjs|cjs)$/.test(path)) return ts.ScriptKind.JS;
  return ts.ScriptKind.TS;
}

/** The module specifiers of a file, each with its line and whether it is erased at compile time. */
function readImports(path, text) {
  const source = ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true, scriptKindOf(path));
  const imports = [];
  const add = (specifierNode, typeOnly) => {
    if (specifierNode === undefined || !ts.isStringLiteralLike(specifierNode)) return;
    const line = source.getLineAndCharacterOfPosition(specifierNode.getStart(source)).line + 1;
    imports.push({ specifier: specifierNode.text, line, typeOnly });
  };
  const visit = (node) => {
    if (ts.isImportDeclaration(node)) {
      add(node.moduleSpecifier, node.importClause?.isTypeOnly === true);
    } else if (ts.isExportDeclaration(node)) {
      add(node.moduleSpecifier, node.isTypeOnly);
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      add(node.moduleReference.expression, node.isTypeOnly);
    } else if (ts.isImportTypeNode(node)) {
      // `typeof import("x")`, `import("x").T`: a type, erased.
      const argument = node.argument;
      if (ts.isLiteralTypeNode(argument)) add(argument.literal, true);
    } else if (ts.isCallExpression(node) && node.arguments.length > 0) {
      const isDynamicImport = node.expression.kind === ts.SyntaxKind.ImportKeyword;
      const isRequire = ts.isIdentifier(node.expression) && node.expression.text === "require";
      if (isDynamicImport || isRequire) add(node.arguments[0], false);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  const isUseClient = source.statements.some(
    (statement) =>
      ts.isExpressionStatement(statement) &&
      ts.isStringLiteral(statement.expression) &&
      statement.expression.text === "use client",
  );
  return { imports, isUseClient };
}

/** The package directory (apps/x, packages/y) a file belongs to, or "" for the repository root's own files. */
function packageDirectoryOf(path) {
  const match = /^(apps|packages)\/([^/]+)\//.exec(path);
  return match === null ? "" : `${match[1]}/${match[2]}`;
}

/** A relative or "@/" import of a dashboard file, resolved to the file it loads, if it is one. */
function resolveWebImport(root, fromPath, specifier) {
  let base;
  if (specifier.startsWith("@/")) base = WEB_SRC + specifier.slice(2);
  else if (specifier.startsWith(".")) base = toRepositoryPath(root, resolve(root, dirname(fromPath), specifier));
  else return undefined;
  const candidates = RESOLVE_SUFFIXES.map((suffix) => base + suffix);
  // Sources import "./x.js" for "./x.ts" under NodeNext.
  if (/\.jsx?$/.test(base)) candidates.push(base.replace(/\.js(x?)$/, ".ts$1"));
  return candidates.find((candidate) => existsSync(join(root, candidate)) && statSync(join(root, candidate)).isFile());
}

function toRepositoryPath(root, absolutePath) {
  return relative(root, absolutePath).split(sep).join("/");
}

/**
 * The dashboard files that end up in the browser, each with the reason: it says "use client",
 * it is a client component, or a browser file imports it at run time.
 */
function findWebClientFiles(root, parsed) {
  const reasons = new Map();
  const queue = [];
  for (const [path, { isUseClient }] of parsed) {
    if (!path.startsWith(WEB_SRC)) continue;
    if (isUseClient) reasons.set(path, 'it says "use client"');
    else if (path.startsWith(WEB_COMPONENTS)) reasons.set(path, "it is under apps/web/src/components");
    else continue;
    queue.push(path);
  }
  while (queue.length > 0) {
    const path = queue.shift();
    for (const { specifier, typeOnly } of parsed.get(path)?.imports ?? []) {
      if (typeOnly) continue;
      const target = resolveWebImport(root, path, specifier);
      if (target === undefined || reasons.has(target) || !parsed.has(target)) continue;
      reasons.set(target, `${path} imports it and runs in the browser`);
      queue.push(target);
    }
  }
  return reasons;
}

/** All violations under root, in file order. */
export function checkImports(root) {
  const parsed = new Map();
  for (const path of listSourceFiles(root)) parsed.set(path, readImports(path, readFileSync(join(root, path), "utf8")));
  const webClientFiles = findWebClientFiles(root, parsed);
  const violations = [];
  for (const [path, { imports }] of parsed) {
    const ownPackage = packageDirectoryOf(path);
    const clientReason = path.startsWith("apps/agent/")
      ? "the agent ships no server code"
      : webClientFiles.has(path)
        ? `this file runs in the browser (${webClientFiles.get(path)})`
        : undefined;
    for (const { specifier, line, typeOnly } of imports) {
      if (clientReason !== undefined && !typeOnly && SERVER_PACKAGE.test(specifier)) {
        violations.push({
          path,
          line,
          rule: "client-imports-server",
          message: `"${specifier}" is imported at run time, but ${clientReason}: use \`import type { ... } from "${specifier}"\` (an inline \`{ type X }\` still loads the module)`,
        });
      }
      const byName = PACKAGE_SRC_BY_NAME.exec(specifier);
      if (byName !== null) {
        violations.push({
          path,
          line,
          rule: "reaches-into-src",
          message: `"${specifier}" reaches into the src/ of @private-connect/${byName[1]}: import what it exports (add an entry to its package.json "exports" if needed)`,
        });
        continue;
      }
      if (!specifier.startsWith(".")) continue;
      const target = toRepositoryPath(root, resolve(root, dirname(path), specifier));
      const byPath = PACKAGE_SRC_BY_PATH.exec(target);
      if (byPath !== null && `${byPath[1]}/${byPath[2]}` !== ownPackage) {
        violations.push({
          path,
          line,
          rule: "reaches-into-src",
          message: `"${specifier}" reaches into ${byPath[1]}/${byPath[2]}/src from outside that package: import it by package name through its "exports" map (add an entry if needed)`,
        });
      }
    }
  }
  return { fileCount: parsed.size, violations };
}

const isMain = process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
  const root = resolve(process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), ".."));
  const { fileCount, violations } = checkImports(root);
  for (const { path, line, rule, message } of violations) console.error(`${path}:${line}: ${rule}: ${message}`);
  if (violations.length > 0) {
    console.error(`check-imports: ${violations.length} import boundary violation(s) in ${fileCount} files`);
    process.exitCode = 1;
  } else {
    console.log(`check-imports: ${fileCount} files, import boundaries hold`);
  }
}
