import type { IncomingMessage } from "node:http";

/** What the hub (or a proxy in front of it) answered instead of upgrading /relay. */
export interface RelayRefusal {
  status: number;
  message: string;
}

/** The most of a refusal's body kept: the hub's is a short JSON line, a proxy's page is cut. */
const MAX_REFUSAL_BYTES = 4096;

/**
 * Reads a refused upgrade's answer: the hub's `{ "error": "..." }` message, else the start of
 * whatever text came (a proxy's page), else a generic line. Never buffers more than 4 KiB.
 */
export function readRelayRefusal(response: IncomingMessage): Promise<RelayRefusal> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    response.on("data", (chunk: Buffer) => {
      if (size < MAX_REFUSAL_BYTES) chunks.push(chunk);
      size += chunk.length;
    });
    const finish = () => resolve({ status: response.statusCode ?? 0, message: refusalMessage(Buffer.concat(chunks)) });
    response.on("end", finish);
    response.on("error", finish);
  });
}

function refusalMessage(body: Buffer): string {
  const text = body.toString("utf8").slice(0, 1024);
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed && typeof parsed === "object" && "error" in parsed && typeof parsed.error === "string") return parsed.error;
  } catch {
    // Not the hub's JSON: use the text as it is.
  }
  return text || "the hub refused the connection";
}
