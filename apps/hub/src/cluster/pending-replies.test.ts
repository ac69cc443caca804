import { describe, expect, it } from "vitest";
import { PendingReplies } from "./pending-replies.js";

describe("PendingReplies", () => {
  it("settles a question once, by its reply from the one asked, and forgets it", async () => {
    const pending = new PendingReplies<string>();
    const answer = pending.wait("q1", 5_000, () => new Error("timeout"), "hub-b");
    expect(pending.reply("q1", "from a bystander", "hub-c")).toBe(false);
    expect(pending.reply("q1", "hello", "hub-b")).toBe(true);
    expect(pending.reply("q1", "again", "hub-b")).toBe(false);
    await expect(answer).resolves.toBe("hello");
    expect(pending.size).toBe(0);
  });

  it("fails a question at its timeout, when its peer goes, or all at once", async () => {
    const pending = new PendingReplies<number>();
    const timedOut = pending.wait(1, 20, () => new Error("no answer in 20 ms"));
    const gone = pending.wait(2, 5_000, () => new Error("timeout"), "worker-1");
    const other = pending.wait(3, 5_000, () => new Error("timeout"), "worker-2");
    await expect(timedOut).rejects.toThrow("no answer in 20 ms");
    pending.failFrom("worker-1", new Error("worker-1 exited"));
    await expect(gone).rejects.toThrow("worker-1 exited");
    expect(pending.size).toBe(1);
    pending.failAll(new Error("stopping"));
    await expect(other).rejects.toThrow("stopping");
    expect(pending.size).toBe(0);
  });
});
