import { escapeUnprintable } from "@private-connect/protocol";
import type { AgentProcessStatus, FailureRecord } from "../daemon/control-protocol.js";

export function formatStatus(status: AgentProcessStatus, now = new Date()): string {
  const lines = [
    `Agent      ${status.agent.label} (${status.agent.id}), workspace ${status.agent.workspace.name}`,
    `Hub        ${status.hub.url} (${status.hub.state}${status.hub.lastError === undefined ? "" : `: ${status.hub.lastError}`})${status.hub.relaysEndToEnd === false ? ", does not relay end-to-end encryption: update the hub" : ""}`,
    `Process    pid ${status.pid}, config ${status.configDir}`,
    `Streams    ${status.activeStreams} active`,
  ];
  // Older agents (or test doubles) may not report these; status stays readable without them.
  if (status.token !== undefined) {
    const kind = status.token.isProvisioned ? "provisioned, " : "";
    lines.push(`Token      ${kind}expires ${status.token.expiresAt}`);
    // A provisioned token lives once, so only a rotatable one has a lifetime beyond its expiry.
    if (status.token.maxExpiresAt !== undefined && !status.token.isProvisioned) {
      const registered = status.token.registeredAt === undefined ? "" : ` (registered ${status.token.registeredAt})`;
      lines.push(`Lifetime   rotations extend it until ${status.token.maxExpiresAt} at most${registered}, then register again`);
    }
    if (status.token.warning !== undefined) lines.push(`Warning    ${status.token.warning}`);
  }
  if (status.e2ePublicKey !== undefined) lines.push(`E2E key    ${status.e2ePublicKey} (connect verify AGENT compares it)`);
  if (status.workspaceCertificate !== undefined) {
    lines.push(
      `Certified  by workspace key ${status.workspaceCertificate.workspaceKey} (${status.workspaceCertificate.issuedAt}): only peers it certified are accepted`,
    );
  }
  lines.push(status.exposures.length === 0 ? "Exposures  none" : "Exposures");
  for (const exposure of status.exposures) {
    const policy = `, e2e ${exposure.e2e ?? "preferred"}`;
    lines.push(
      `  ${exposure.name} -> ${formatHostPort(exposure.host, exposure.port)}${policy}${formatStreamSecurity(exposure.security, "from")}${formatLastFailure(exposure.lastFailure, now)}`,
    );
  }
  lines.push(status.reaches.length === 0 ? "Reaches    none" : "Reaches");
  for (const reach of status.reaches) {
    const from = reach.from === undefined ? "" : ` from ${reach.from}`;
    lines.push(
      `  ${reach.service}${from} on ${formatHostPort(reach.host, reach.port)}${formatStreamSecurity(reach.security, "to")}${formatLastFailure(reach.lastFailure, now)}`,
    );
  }
  const ipChanges = status.ipChanges ?? [];
  if (ipChanges.length > 0) {
    lines.push("IP changes (the hub saw this agent's token used from a new address)");
    for (const change of ipChanges) lines.push(`  ${change.at}  ${change.previousIp} -> ${change.newIp}`);
  }
  const notices = status.notices ?? [];
  if (notices.length > 0) {
    lines.push("Hub notices");
    for (const notice of notices) lines.push(`  ${notice.at}  ${notice.level} ${notice.code}: ${notice.message}`);
  }
  // Labels, workspace names, the hub's errors and notices are someone else's text: each line is
  // one line of visible characters, whatever they contain (see escapeUnprintable).
  return lines.map(escapeUnprintable).join("\n");
}

/**
 * ", last stream end-to-end encrypted to db-server (key verified)", or "... in plaintext": how the
 * newest stream of a reach or an exposure went; nothing before the first one.
 */
function formatStreamSecurity(
  security:
    | { isEndToEnd: boolean; peer?: { agentId: string; label: string; isVerified: boolean; isCertified?: boolean } | undefined }
    | undefined,
  direction: "to" | "from",
): string {
  if (security?.peer === undefined) return "";
  if (!security.isEndToEnd) return `, last stream in plaintext ${direction} ${security.peer.label}`;
  const key = security.peer.isCertified
    ? "key certified by the workspace key"
    : security.peer.isVerified
      ? "key verified"
      : `key not verified: connect verify ${security.peer.agentId}`;
  return `, last stream end-to-end encrypted ${direction} ${security.peer.label} (${key})`;
}

/** ", last failure 14:02:11: reason" (with the date when it was not today); nothing without one. */
function formatLastFailure(failure: FailureRecord | undefined, now: Date): string {
  if (failure === undefined) return "";
  const at = new Date(failure.at);
  const pad = (value: number) => String(value).padStart(2, "0");
  const time = `${pad(at.getHours())}:${pad(at.getMinutes())}:${pad(at.getSeconds())}`;
  const isToday = at.toDateString() === now.toDateString();
  const when = isToday ? time : `${at.getFullYear()}-${pad(at.getMonth() + 1)}-${pad(at.getDate())} ${time}`;
  return `, last failure ${when}: ${failure.reason}`;
}

export function formatHostPort(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}
