import type { IncomingMessage, ServerResponse } from "node:http";
import {
  type ApiDeps,
  AppError,
  authenticateBearer,
  httpStatusForAppError,
  parseBearer,
  provisionAgent,
} from "@private-connect/api";
import { sendJson } from "./responses.js";

const MAX_BODY_BYTES = 16 * 1024;

class BodyTooLargeError extends Error {}

async function readJsonBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new BodyTooLargeError();
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString("utf8");
  return text.trim() === "" ? {} : JSON.parse(text);
}

/**
 * POST /v1/agents/provision: short-lived agent tokens for AI agent runtimes, authenticated by
 * an API key. The product promises this as REST, so it is a plain route over the same service
 * function as the agents.provision procedure.
 */
export async function handleProvision(deps: ApiDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (req.method !== "POST") {
    res.setHeader("allow", "POST");
    sendJson(res, 405, { error: "Use POST with a JSON body { clientType, label?, ttlSeconds? }" });
    return;
  }
  try {
    const bearer = parseBearer(req.headers.authorization);
    if (!bearer) throw new AppError("UNAUTHORIZED", "Missing API key: send Authorization: Bearer pc_...");
    const principal = await authenticateBearer(deps, bearer);
    if (principal.kind !== "apiKey") {
      sendJson(res, 403, { error: "Provisioning needs an API key (pc_...), not an agent token" });
      return;
    }
    let body: unknown;
    try {
      body = await readJsonBody(req);
    } catch (error) {
      if (error instanceof BodyTooLargeError) {
        sendJson(res, 413, { error: `Request body over ${MAX_BODY_BYTES} bytes` });
        return;
      }
      sendJson(res, 400, { error: "The body must be JSON: { clientType, label?, ttlSeconds? }" });
      return;
    }
    sendJson(res, 201, await provisionAgent(deps, principal, body));
  } catch (error) {
    if (error instanceof AppError) {
      sendJson(res, httpStatusForAppError(error.code), { error: error.message });
      return;
    }
    throw error;
  }
}
