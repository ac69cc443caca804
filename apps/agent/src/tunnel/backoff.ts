/**
 * Reconnect delays: exponential from `minMs` to `maxMs` with jitter, so a hub restart is
 * not met by every agent at the same instant. `reset()` after a stable connection.
 */
export class Backoff {
  private attempt = 0;

  constructor(
    private readonly minMs = 500,
    private readonly maxMs = 30_000,
    private readonly random: () => number = Math.random,
  ) {}

  next(): number {
    const ceiling = Math.min(this.maxMs, this.minMs * 2 ** this.attempt);
    this.attempt = Math.min(this.attempt + 1, 32);
    // "Equal jitter": never below half the ceiling, so delays still grow.
    return Math.round(ceiling / 2 + this.random() * (ceiling / 2));
  }

  reset(): void {
    this.attempt = 0;
  }
}
