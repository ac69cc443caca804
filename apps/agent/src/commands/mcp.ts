import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { Flags } from "@oclif/core";
import { escapeUnprintable } from "@private-connect/protocol";
import { BaseCommand } from "../cli/base-command.js";
import { createMcpServer } from "../mcp/create-mcp-server.js";
import { createHubGateway } from "../mcp/hub-gateway.js";

export default class Mcp extends BaseCommand<typeof Mcp> {
  static override summary = "serve the Model Context Protocol on stdio, so an AI client can list, reach and check services";
  static override description =
    'Speaks MCP (JSON-RPC on stdin and stdout) as the running agent of the config directory: the tools list_services, reach_service, stop_reach, check_service, get_connection_info (the filled-in variables of pconnect.yml in the working directory) and report_action act through that agent and its saved identity, and every call, refused ones included, is recorded in the workspace\'s audit log with the client\'s name. Exposing and sharing (expose_service, share_service) are offered only with --allow-expose. Without a running agent the server starts all the same and each tool answers "run connect up". An MCP client starts it from its configuration, for example: { "mcpServers": { "private-connect": { "command": "connect", "args": ["mcp"] } } }';
  static override examples = [
    "<%= config.bin %> mcp",
    "<%= config.bin %> mcp --config ~/.private-connect-laptop",
    "<%= config.bin %> mcp --allow-expose",
  ];
  static override flags = {
    "allow-expose": Flags.boolean({
      description: "also offer expose_service and share_service: the AI client may then publish this machine's services",
      default: false,
    }),
  };

  async run(): Promise<void> {
    const log = (line: string) => process.stderr.write(`connect mcp: ${escapeUnprintable(line)}\n`);
    const server = createMcpServer({
      control: this.control,
      hub: createHubGateway((call) => this.callHubAsAgent(call)),
      workingDir: process.cwd(),
      isExposeAllowed: this.flags["allow-expose"],
      log,
    });
    const closed = new Promise<void>((resolve) => {
      server.onclose = resolve;
    });
    // The stdio transport does not watch for the end of stdin: a client that closes its end
    // (the usual way to stop a stdio server) would otherwise leave this process running.
    process.stdin.once("end", () => void server.close());
    await server.connect(new StdioServerTransport());
    log(
      `serving MCP on stdio as the agent of ${this.paths.dir}${this.flags["allow-expose"] ? " (expose and share allowed)" : ""}`,
    );
    await closed;
  }
}
