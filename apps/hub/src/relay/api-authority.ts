import {
  type ApiDeps,
  AppError,
  announceAgentOffline,
  announceAgentOnline,
  authenticateBearer,
  authorizeStreamOpen,
  describeExpiredToken,
  describeRevokedAgentToken,
  readAgentCredential,
  recordAgentDisconnected,
  recordAgentSeen,
  recordDuplicateConnection,
} from "@private-connect/api";
import { ResetCode } from "@private-connect/protocol";
import type { Logger } from "pino";
import type { AgentIdentity } from "./agent-connection.js";
import { OpenRefusal, type RelayAuthority } from "./relay-authority.js";

/** The relay's access decisions, delegated to the control plane's one authorization path. */
export function createApiAuthority(deps: ApiDeps, log: Logger): RelayAuthority {
  return {
    async authenticateAgent(bearer, client, connectionLog = log) {
      let principal: Awaited<ReturnType<typeof authenticateBearer>>;
      try {
        principal = await authenticateBearer(deps, bearer, { ip: client?.ip, userAgent: client?.userAgent, via: "relay" });
      } catch (error) {
        if (error instanceof AppError) throw new OpenRefusal(ResetCode.SERVICE_NOT_FOUND, error.message);
        connectionLog.error({ err: error }, "agent authentication failed");
        throw new OpenRefusal(ResetCode.UNAVAILABLE, "The hub cannot check credentials right now: try again shortly");
      }
      if (principal.kind !== "agent") {
        throw new OpenRefusal(ResetCode.SERVICE_NOT_FOUND, "The relay takes an agent token, not an API key: run connect up");
      }
      return {
        agentId: principal.agentId,
        workspaceId: principal.workspaceId,
        label: principal.label,
        clientType: principal.clientType,
        tokenExpiresAt: principal.tokenExpiresAt,
      };
    },

    async authorizeOpen(agent: AgentIdentity, request, ip, stream) {
      try {
        const route = await authorizeStreamOpen(
          deps,
          { kind: "agent", ...agent },
          { service: request.service, from: request.from },
          { ip },
        );
        return {
          agentId: route.agentId,
          serviceName: route.serviceName,
          workspaceId: route.workspaceId,
          share: route.share,
          e2ePolicy: route.e2ePolicy,
        };
      } catch (error) {
        // Every refusal the control plane words (not found, expired, limited) reaches the agent as is.
        if (error instanceof AppError) {
          const code = error.code === "RATE_LIMITED" ? ResetCode.LIMIT_EXCEEDED : ResetCode.SERVICE_NOT_FOUND;
          throw new OpenRefusal(code, error.message);
        }
        (stream?.log ?? log).error(
          { err: error, agentId: agent.agentId, streamId: stream?.streamId },
          "stream authorization failed",
        );
        throw new OpenRefusal(
          ResetCode.UNAVAILABLE,
          "The hub cannot check access right now (database unavailable): try again shortly",
        );
      }
    },

    async onAgentConnected(agent, ip, connectionLog = log) {
      announceAgentOnline(deps, agent);
      const seen = await recordAgentSeen(deps, { kind: "agent", ...agent }, { ip });
      if (!seen.ipChanged) return [];
      const { previousIp, newIp } = seen.ipChanged;
      connectionLog.warn({ agentId: agent.agentId, previousIp, newIp }, "agent token used from a new address");
      return [
        {
          type: "notice",
          level: "warning",
          code: "ip_changed",
          message: `This agent's token was used from ${newIp} (before: ${previousIp}); if that was not you, rotate it with connect up --rotate-token`,
        },
      ];
    },

    async describeExpiry(agent) {
      return describeExpiredToken(deps, agent.workspaceId, agent.agentId);
    },

    async readRevocation(agent) {
      const credential = await readAgentCredential(deps, { kind: "agent", ...agent });
      if (credential === undefined || !credential.isRevoked) return undefined;
      return describeRevokedAgentToken(deps, agent.workspaceId, agent.agentId);
    },

    async readTokenExpiry(agent) {
      const credential = await readAgentCredential(deps, { kind: "agent", ...agent });
      return credential && !credential.isRevoked ? credential.tokenExpiresAt : undefined;
    },

    async onDuplicateConnection(agent, connections) {
      await recordDuplicateConnection(deps, agent, connections);
    },

    onAgentDisconnected(agent, ip, connectionLog = log) {
      announceAgentOffline(deps, agent);
      // The relay does not wait on this hook; a failed write is logged, never thrown at it.
      recordAgentDisconnected(deps, { kind: "agent", ...agent }, { ip }).catch((error: unknown) =>
        connectionLog.warn({ err: error, agentId: agent.agentId }, "could not record the agent's disconnection"),
      );
    },
  };
}
