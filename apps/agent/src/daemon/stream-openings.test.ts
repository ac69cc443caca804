import { describe, expect, it } from "vitest";
import { getStreamKey, StreamOpenings } from "./stream-openings.js";

describe("StreamOpenings", () => {
  it("hands an answer that came first to the client that asks next, once", async () => {
    const openings = new StreamOpenings();
    openings.record(() => getStreamKey(15432, 50000), { isOpened: true, openMs: 12 });
    expect(await openings.wait(getStreamKey(15432, 50000), 1_000)).toEqual({ isOpened: true, openMs: 12 });
    expect(await openings.wait(getStreamKey(15432, 50000), 10)).toBeUndefined();
  });

  it("wakes a waiting client when its answer comes, and no other", async () => {
    const openings = new StreamOpenings();
    const waiting = openings.wait(getStreamKey(15432, 50001), 5_000);
    openings.record(() => getStreamKey(15432, 50002), { isOpened: true, openMs: 1 });
    openings.record(() => getStreamKey(15432, 50001), { isOpened: false, openMs: 3, refusal: { code: 2, reason: "offline" } });
    expect(await waiting).toEqual({ isOpened: false, openMs: 3, refusal: { code: 2, reason: "offline" } });
  });

  it("answers undefined when nothing comes within the wait", async () => {
    const openings = new StreamOpenings();
    expect(await openings.wait(getStreamKey(1, 2), 20)).toBeUndefined();
  });

  it("forgets answers nobody asked for after a minute, and keeps no more than a bounded number", async () => {
    let now = 0;
    const openings = new StreamOpenings(() => now);
    openings.record(() => getStreamKey(1, 1), { isOpened: true, openMs: 1 });
    now = 61_000;
    for (let port = 2; port < 1_000; port += 1) openings.record(() => getStreamKey(1, port), { isOpened: true, openMs: 1 });
    expect(await openings.wait(getStreamKey(1, 1), 0)).toBeUndefined();
    expect(await openings.wait(getStreamKey(1, 2), 0)).toBeUndefined();
    expect(await openings.wait(getStreamKey(1, 999), 0)).toEqual({ isOpened: true, openMs: 1 });
  });
});

describe("StreamOpenings, off the stream-open path", () => {
  it("works out an answer's key only once a client waits", async () => {
    const openings = new StreamOpenings();
    let keyReads = 0;
    openings.record(
      () => {
        keyReads += 1;
        return getStreamKey(15432, 50003);
      },
      { isOpened: true, openMs: 4 },
    );
    expect(keyReads).toBe(0);
    expect(await openings.wait(getStreamKey(15432, 50003), 1_000)).toEqual({ isOpened: true, openMs: 4 });
    expect(keyReads).toBe(1);
  });
});
