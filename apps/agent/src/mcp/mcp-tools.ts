import { checkServiceTool } from "./check-service-tool.js";
import { exposeServiceTool } from "./expose-service-tool.js";
import { getConnectionInfoTool } from "./get-connection-info-tool.js";
import { listServicesTool } from "./list-services-tool.js";
import type { McpTool } from "./mcp-tool.js";
import { reachServiceTool } from "./reach-service-tool.js";
import { reportActionTool } from "./report-action-tool.js";
import { shareServiceTool } from "./share-service-tool.js";
import { stopReachTool } from "./stop-reach-tool.js";

/** Every tool connect mcp serves; those with needsAllowExpose only under --allow-expose. */
export const mcpTools: readonly McpTool[] = [
  listServicesTool,
  reachServiceTool,
  stopReachTool,
  checkServiceTool,
  getConnectionInfoTool,
  reportActionTool,
  exposeServiceTool,
  shareServiceTool,
];
