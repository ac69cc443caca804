// Shared by the agent-revocation tests: a workspace with an owner, a member and an API key, and
// agents let in each way (registered by the key, provisioned by it, connect login approved by a
// person). The member is added straight through withWorkspace, so these tests do not depend on
// how invitations work.
import { randomUUID } from "node:crypto";
import { createCaller } from "../root.js";
import { createContextInner } from "../trpc.js";
import type { Harness, SignedInTestUser } from "./harness.js";

export interface TestAgent {
  agentId: string;
  token: string;
}

export interface AgentTeam {
  workspaceId: string;
  workspaceName: string;
  owner: SignedInTestUser;
  member: SignedInTestUser;
  apiKey: string;
  apiKeyId: string;
  apiKeyName: string;
  /** agents.register with the team's key (or another key given). */
  register(label: string, apiKey?: string): Promise<TestAgent>;
  /** POST /v1/agents/provision's twin with the team's key. */
  provision(label: string): Promise<TestAgent>;
  /** A `connect login` machine approved by `approver` in the team's workspace. */
  login(label: string, approver: SignedInTestUser): Promise<TestAgent>;
}

let teamCounter = 0;
let loginIpCounter = 0;

export async function createAgentTeam(harness: Harness, tag: string): Promise<AgentTeam> {
  const suffix = `${++teamCounter}-${randomUUID().slice(0, 6)}`;
  const owner = await harness.signIn(`${tag}-owner-${suffix}@example.com`);
  const own = owner.workspaces.find((workspace) => workspace.role === "owner");
  if (own === undefined) throw new Error("a new user has a workspace of their own");
  const member = await harness.signIn(`${tag}-member-${suffix}@example.com`);
  await harness.db.withWorkspace(own.id, (tx) =>
    tx.membership.create({ data: { workspaceId: own.id, userId: member.userId, role: "member" }, select: { id: true } }),
  );
  const apiKeyName = `${tag}-key`;
  const key = await (await owner.in(own.id)).apiKeys.create({ name: apiKeyName });

  async function login(label: string, approver: SignedInTestUser): Promise<TestAgent> {
    loginIpCounter += 1;
    const anonymous = createCaller(
      await createContextInner({
        deps: harness.deps,
        ip: `10.77.${Math.floor(loginIpCounter / 250)}.${(loginIpCounter % 250) + 1}`,
      }),
    );
    const started = await anonymous.deviceAuth.start({ label, hubUrl: "https://hub.example.com" });
    await (await approver.in(own?.id ?? "")).deviceAuth.approve({ userCode: started.userCode });
    const polled = await anonymous.deviceAuth.poll({ deviceCode: started.deviceCode });
    if (polled.status !== "approved") throw new Error(`login ${label} was not approved: ${polled.status}`);
    return { agentId: polled.agentId, token: polled.token };
  }

  return {
    workspaceId: own.id,
    workspaceName: own.name,
    owner,
    member,
    apiKey: key.key,
    apiKeyId: key.id,
    apiKeyName,
    async register(label, apiKey = key.key) {
      const registered = await (await harness.caller(apiKey)).agents.register({ label });
      return { agentId: registered.agentId, token: registered.token };
    },
    async provision(label) {
      const provisioned = await (await harness.caller(key.key)).agents.provision({ clientType: "claude-code", label });
      return { agentId: provisioned.agentId, token: provisioned.token };
    },
    login,
  };
}
