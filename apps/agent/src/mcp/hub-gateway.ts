import type { CreatedShare, CreateShareInput } from "@private-connect/api";
import type { AgentIdentity } from "../config/identity.js";
import { type ReportActionInput, type ReportActionResult, reportActionWith } from "../sdk/audit.js";
import type { HubClient } from "../sdk/hub-client.js";
import { listReachableServices, type ServiceListEntry } from "../sdk/services.js";

/** The hub calls the MCP tools make, as this machine's agent (its saved token). */
export interface HubGateway {
  listReachableServices(): Promise<ServiceListEntry[]>;
  reportAction(input: ReportActionInput): Promise<ReportActionResult>;
  createShare(input: CreateShareInput): Promise<CreatedShare>;
}

export type CallHubAsAgent = <R>(call: (client: HubClient, identity: AgentIdentity) => Promise<R>) => Promise<R>;

/** A gateway over BaseCommand.callHubAsAgent, so revocations and hub errors read as in every command. */
export function createHubGateway(callHubAsAgent: CallHubAsAgent): HubGateway {
  return {
    listReachableServices: () => callHubAsAgent((client, identity) => listReachableServices(client, identity.hubUrl)),
    reportAction: (input) => callHubAsAgent((client, identity) => reportActionWith(identity.hubUrl, client, input)),
    createShare: (input) => callHubAsAgent((client) => client.shares.create.mutate(input)),
  };
}
