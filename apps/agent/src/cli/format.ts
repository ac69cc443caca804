import type { AgentProcessStatus } from "../daemon/control-protocol.js";

export function formatStatus(status: AgentProcessStatus): string {
  const lines = [
    `Agent      ${status.agent.label} (${status.agent.id}), workspace ${status.agent.workspace.name}`,
    `Hub        ${status.hub.url} (${status.hub.state}${status.hub.lastError === undefined ? "" : `: ${status.hub.lastError}`})`,
    `Process    pid ${status.pid}, config ${status.configDir}`,
    `Streams    ${status.activeStreams} active`,
  ];
  lines.push(status.exposures.length === 0 ? "Exposures  none" : "Exposures");
  for (const exposure of status.exposures) lines.push(`  ${exposure.name} -> ${formatHostPort(exposure.host, exposure.port)}`);
  lines.push(status.reaches.length === 0 ? "Reaches    none" : "Reaches");
  for (const reach of status.reaches) {
    const from = reach.from === undefined ? "" : ` from ${reach.from}`;
    lines.push(`  ${reach.service}${from} on ${formatHostPort(reach.host, reach.port)}`);
  }
  return lines.join("\n");
}

export function formatHostPort(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}
