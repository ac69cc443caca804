// A workspace with one API key and nothing else, written straight through withWorkspace: the
// credential tests need a key to start from, not the owner/user machinery of createWorkspace.
import { randomUUID } from "node:crypto";
import { type Database, sha256Hex } from "@private-connect/db";
import { generateApiKey, getApiKeyPrefix } from "../services/auth/secrets.js";

export interface BareWorkspace {
  workspaceId: string;
  name: string;
  apiKey: string;
  apiKeyId: string;
}

export async function createBareWorkspace(db: Database, name = `Workspace ${randomUUID().slice(0, 8)}`): Promise<BareWorkspace> {
  const workspaceId = randomUUID();
  const apiKey = generateApiKey();
  const apiKeyId = await db.withWorkspace(workspaceId, async (tx) => {
    await tx.workspace.create({ data: { id: workspaceId, name, slug: `ws-${workspaceId.slice(0, 8)}` }, select: { id: true } });
    const key = await tx.apiKey.create({
      data: { workspaceId, name: "default", prefix: getApiKeyPrefix(apiKey), keyHash: sha256Hex(apiKey) },
      select: { id: true },
    });
    return key.id;
  });
  return { workspaceId, name, apiKey, apiKeyId };
}
