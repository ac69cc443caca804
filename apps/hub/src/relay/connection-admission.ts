import type { RelayCluster } from "./relay-cluster.js";

export type Admission = { kind: "admitted"; release: () => void } | { kind: "refused"; status: number; message: string };

/**
 * Relay connections one client address may hold, counted from before authentication so that a
 * flood of bad tokens is bounded too. With a cluster the count is of all hubs together; while
 * Redis is away each hub still enforces the limit on its own connections.
 */
export class ConnectionAdmission {
  private readonly perIp = new Map<string, number>();

  constructor(
    private readonly maxPerIp: number,
    private readonly cluster: RelayCluster | undefined,
  ) {}

  async admit(ip: string): Promise<Admission> {
    const held = this.perIp.get(ip) ?? 0;
    const isUnderLimit =
      held < this.maxPerIp && (this.cluster === undefined || (await this.cluster.acquireAddress(ip, this.maxPerIp)));
    if (!isUnderLimit)
      return { kind: "refused", status: 429, message: `Too many relay connections from ${ip} (limit ${this.maxPerIp})` };
    this.perIp.set(ip, (this.perIp.get(ip) ?? 0) + 1);
    let isCounted = true;
    return {
      kind: "admitted",
      release: () => {
        if (!isCounted) return;
        isCounted = false;
        const left = (this.perIp.get(ip) ?? 1) - 1;
        if (left <= 0) this.perIp.delete(ip);
        else this.perIp.set(ip, left);
        this.cluster?.releaseAddress(ip);
      },
    };
  }
}
