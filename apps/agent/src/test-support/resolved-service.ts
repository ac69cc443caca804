/**
 * What a fake hub answers to services.resolve: the service and the agent exposing it, without an
 * end-to-end key (streams stay plaintext), unless a test passes one.
 */
export function resolvedService(
  name: string,
  options: { from?: string; shareName?: string; agentId?: string; publicKey?: string | null } = {},
) {
  return {
    name,
    ...(options.from === undefined ? {} : { from: options.from, shareName: options.shareName ?? "contract" }),
    agent: { id: options.agentId ?? "00000000-0000-4000-8000-0000000000e1", label: "server", workspaceId: "ws-server" },
    e2e: { policy: "preferred" as const, publicKey: options.publicKey ?? null },
  };
}
