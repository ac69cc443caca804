import type { Socket } from "node:net";
import type { Deadline } from "./deadline.js";

/** Why a wait for an answer ended. */
export type ReadOutcome = "complete" | "closed" | "timeout" | "overflow" | "error";

/**
 * Collects what a service sends on a socket, never more than `maxBytes`: a service that floods
 * is cut off (the socket is destroyed) and the wait ends with "overflow", one that stays silent
 * ends with "timeout" at the deadline. Nothing a service does can hang a check or fill memory.
 */
export class SocketReader {
  #buffer: Buffer = Buffer.alloc(0);
  #isEnded = false;
  #isOverflowed = false;
  #error: Error | undefined;
  #notify: (() => void) | undefined;

  constructor(
    readonly socket: Socket,
    readonly maxBytes: number,
  ) {
    socket.on("data", (chunk: Buffer) => {
      if (this.#isOverflowed) return;
      if (this.#buffer.length + chunk.length > maxBytes) {
        this.#buffer = Buffer.concat([this.#buffer, chunk.subarray(0, maxBytes - this.#buffer.length)]);
        this.#isOverflowed = true;
        socket.destroy();
      } else {
        this.#buffer = Buffer.concat([this.#buffer, chunk]);
      }
      this.#notify?.();
    });
    socket.on("end", () => {
      this.#isEnded = true;
      this.#notify?.();
    });
    socket.on("close", () => {
      this.#isEnded = true;
      this.#notify?.();
    });
    socket.on("error", (error: Error) => {
      this.#error ??= error;
      this.#notify?.();
    });
  }

  /** Everything received and not taken yet. */
  get bytes(): Buffer {
    return this.#buffer;
  }

  get error(): Error | undefined {
    return this.#error;
  }

  /** Removes the first `length` bytes (a message the caller has parsed). */
  take(length: number): Buffer {
    const taken = this.#buffer.subarray(0, length);
    this.#buffer = this.#buffer.subarray(length);
    return taken;
  }

  /**
   * Waits until `isComplete(bytes)` holds, the socket ends, the cap is reached or the deadline
   * (or `waitMs`, if sooner) passes, and says which.
   */
  wait(isComplete: (bytes: Buffer) => boolean, deadline: Deadline, waitMs = Number.POSITIVE_INFINITY): Promise<ReadOutcome> {
    return new Promise((resolve) => {
      const check = (): boolean => {
        let outcome: ReadOutcome | undefined;
        if (isComplete(this.#buffer)) outcome = "complete";
        else if (this.#isOverflowed) outcome = "overflow";
        else if (this.#error !== undefined) outcome = "error";
        else if (this.#isEnded) outcome = "closed";
        if (outcome === undefined) return false;
        finish(outcome);
        return true;
      };
      const finish = (outcome: ReadOutcome) => {
        clearTimeout(timer);
        this.#notify = undefined;
        resolve(outcome);
      };
      const timer = setTimeout(() => finish("timeout"), Math.min(deadline.remainingMs(), waitMs));
      if (check()) return;
      this.#notify = () => {
        check();
      };
    });
  }
}
