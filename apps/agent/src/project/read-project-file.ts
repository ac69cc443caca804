import { open } from "node:fs/promises";
import { type Document, isMap, isNode, isPair, isScalar, LineCounter, type Node, parseDocument } from "yaml";
import type { z } from "zod";
import { ConnectError } from "../errors.js";
import type { ProjectFile } from "./project-file.js";
import { PROJECT_KEYS, projectSchema, SERVICE_KEYS } from "./project-schema.js";

/** A project file lists a few services; anything this big is not one, and is not parsed. */
export const MAX_PROJECT_FILE_BYTES = 64 * 1024;

/**
 * How many alias expansions one file may make. A handful of anchors is plenty for a services
 * list; a "billion laughs" file nests aliases to grow exponentially and is stopped here.
 */
const MAX_ALIAS_COUNT = 50;

type PathKey = string | number;

/** Reads and validates the file; a ConnectError("INVALID_INPUT") whose message starts "<path>:<line>:<col>: " on bad input. */
export async function readProjectFile(path: string): Promise<ProjectFile> {
  const text = await readBounded(path);
  return parseProjectText(path, text);
}

/** The file's text, refusing one over MAX_PROJECT_FILE_BYTES without reading the rest of it. */
async function readBounded(path: string): Promise<string> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, "r");
  } catch (error) {
    const reason = error instanceof Error && "code" in error && error.code === "ENOENT" ? "no such file" : String(error);
    throw new ConnectError("INVALID_INPUT", `${path}:1:1: cannot read the project file (${reason})`, { cause: error });
  }
  try {
    const buffer = Buffer.alloc(MAX_PROJECT_FILE_BYTES + 1);
    let length = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length);
      if (bytesRead === 0) break;
      length += bytesRead;
      if (length > MAX_PROJECT_FILE_BYTES) {
        throw new ConnectError(
          "INVALID_INPUT",
          `${path}:1:1: the file is larger than ${MAX_PROJECT_FILE_BYTES / 1024} KiB: a project file lists a few services`,
        );
      }
    }
    return buffer.subarray(0, length).toString("utf8");
  } finally {
    await handle.close();
  }
}

/** Parses and validates a project file's text; `path` names it in messages. */
export function parseProjectText(path: string, text: string): ProjectFile {
  const lineCounter = new LineCounter();
  const fail = (offset: number, message: string): never => {
    const { line, col } = lineCounter.linePos(offset);
    throw new ConnectError("INVALID_INPUT", `${path}:${line}:${col}: ${message}`);
  };
  // uniqueKeys: a key given twice is an error rather than "the last one wins" unnoticed.
  const document = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true, version: "1.2" });
  const yamlError = document.errors[0];
  if (yamlError !== undefined) fail(yamlError.pos[0], `not valid YAML: ${firstLine(yamlError.message)}`);
  let data: unknown;
  try {
    data = document.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    fail(0, `cannot be read: ${firstLine(message)} (at most ${MAX_ALIAS_COUNT} alias expansions are allowed)`);
  }
  if (data === null || typeof data !== "object" || Array.isArray(data)) {
    fail(
      document.contents?.range?.[0] ?? 0,
      "must be a mapping with a services: list, for example services: [{ name: prod-db, port: 5432 }]",
    );
  }
  const parsed = projectSchema.safeParse(data);
  if (!parsed.success) {
    // The first problem in reading order, as a compiler reports it: fix from the top down.
    const [first] = parsed.error.issues
      .map((issue) => describeIssue(document, issue))
      .sort((left, right) => left.offset - right.offset);
    fail(first?.offset ?? 0, first?.message ?? "is not a valid project file");
  }
  const project = parsed.data as z.output<typeof projectSchema>;
  const services = project.services.map((service) => {
    const { name, port, from, env, url, protocol } = service;
    return {
      name,
      port,
      ...(from === undefined ? {} : { from }),
      ...(env === undefined ? {} : { env }),
      ...(url === undefined ? {} : { url }),
      ...(protocol === undefined ? {} : { protocol }),
    };
  });
  return { path, ...(project.hub === undefined ? {} : { hub: project.hub.trim() }), services };
}

/** Where in the file an issue is, and the sentence for it ("services[0].port must be ..."). */
function describeIssue(document: Document, issue: z.core.$ZodIssue): { offset: number; message: string } {
  const path = issue.path.filter((key): key is PathKey => typeof key === "string" || typeof key === "number");
  if (issue.code === "unrecognized_keys") {
    const key = issue.keys[0] ?? "";
    const known = path.length === 0 ? PROJECT_KEYS : SERVICE_KEYS;
    const where = path.length === 0 ? "the file" : formatPath(path);
    return {
      offset: findKeyOffset(document, path, key),
      message: `${where} has an unknown key ${JSON.stringify(key)}: the known keys are ${known.join(", ")}`,
    };
  }
  const node = document.getIn(path, true);
  if (node === undefined && issue.code === "invalid_type" && path.length > 0) {
    // A required key that is not there: point at the mapping that lacks it.
    const parent = path.slice(0, -1);
    const key = path[path.length - 1];
    const why = parent.length === 0 ? "list the services the project needs" : "every service needs a name and a port";
    return {
      offset: findNodeOffset(document, parent),
      message: `${parent.length === 0 ? "the file" : formatPath(parent)} has no ${String(key)}: ${why}`,
    };
  }
  return { offset: findNodeOffset(document, path), message: `${formatPath(path)} ${issue.message}` };
}

/** `services[0].port`, as a user finds it in the file. */
export function formatPath(path: readonly PathKey[]): string {
  return path.reduce<string>(
    (text, key) => (typeof key === "number" ? `${text}[${key}]` : text === "" ? key : `${text}.${key}`),
    "",
  );
}

/** The offset of the node at `path`, or of its nearest ancestor that exists. */
function findNodeOffset(document: Document, path: readonly PathKey[]): number {
  for (let length = path.length; length >= 0; length -= 1) {
    const node = length === 0 ? document.contents : document.getIn(path.slice(0, length), true);
    if (isNode(node) && node.range) return node.range[0];
  }
  return 0;
}

/** The offset of `key` itself in the mapping at `path` (for an unknown key). */
function findKeyOffset(document: Document, path: readonly PathKey[], key: string): number {
  const map: unknown = path.length === 0 ? document.contents : document.getIn(path, true);
  if (isMap(map)) {
    for (const pair of map.items) {
      if (!isPair(pair)) continue;
      const keyNode = pair.key as Node | null;
      if (isScalar(keyNode) && String(keyNode.value) === key && keyNode.range) return keyNode.range[0];
    }
  }
  return findNodeOffset(document, path);
}

function firstLine(message: string): string {
  return (message.split("\n")[0] ?? message).replace(/ at line \d+, column \d+:?$/, "").trim();
}
