import { describe, expect, it } from "vitest";
import { AppError } from "../errors.js";
import type { WorkspaceEvent } from "../schemas/events.js";
import { nextWithin } from "../test-support/server-sent-events.js";
import { createWorkspaceEvents, SUBSCRIBER_FELL_BEHIND } from "./workspace-events.js";

const A = "00000000-0000-4000-8000-00000000000a";
const B = "00000000-0000-4000-8000-00000000000b";
const AGENT = "00000000-0000-4000-8000-0000000000ff";

function exposed(name: string): WorkspaceEvent {
  return { type: "service.exposed", name, agentId: AGENT };
}

describe("createWorkspaceEvents", () => {
  it("delivers each event, in order, to every subscriber of its workspace and to no other", async () => {
    const events = createWorkspaceEvents();
    const a1 = events.subscribe(A);
    const a2 = events.subscribe(A);
    const b = events.subscribe(B);
    events.publish(A, exposed("one"));
    events.publish(A, exposed("two"));
    events.publish(B, exposed("b-marker"));
    for (const subscriber of [a1, a2]) {
      expect(await nextWithin(subscriber, "one")).toEqual(exposed("one"));
      expect(await nextWithin(subscriber, "two")).toEqual(exposed("two"));
    }
    expect(await nextWithin(b, "B's marker")).toEqual(exposed("b-marker"));
  });

  it("registers at subscribe time, so nothing published before the first read is lost", async () => {
    const events = createWorkspaceEvents();
    const subscriber = events.subscribe(A);
    expect(events.countSubscribers(A)).toBe(1);
    events.publish(A, exposed("early"));
    expect(await nextWithin(subscriber, "early")).toEqual(exposed("early"));
  });

  it("ends a waiting read and unregisters on abort, on return(), and for an already aborted signal", async () => {
    const events = createWorkspaceEvents();
    const controller = new AbortController();
    const aborted = events.subscribe(A, { signal: controller.signal });
    const returned = events.subscribe(A);
    expect(events.countSubscribers()).toBe(2);

    const waiting = aborted.next();
    controller.abort();
    await expect(waiting).resolves.toEqual({ value: undefined, done: true });
    const alsoWaiting = returned.next();
    await returned.return?.();
    await expect(alsoWaiting).resolves.toEqual({ value: undefined, done: true });
    expect(events.countSubscribers()).toBe(0);

    const late = events.subscribe(A, { signal: AbortSignal.abort() });
    expect(events.countSubscribers()).toBe(0);
    await expect(late.next()).resolves.toEqual({ value: undefined, done: true });
    // Publishing to a workspace nobody listens to is a no-op, not an error.
    events.publish(A, exposed("nobody"));
  });

  it("drops a subscriber that stops reading once its queue is full, and tells it so", async () => {
    const events = createWorkspaceEvents({ maxQueuedPerSubscriber: 3 });
    const stalled = events.subscribe(A);
    const reading = events.subscribe(A);
    for (const name of ["1", "2", "3"]) {
      events.publish(A, exposed(name));
      expect(await nextWithin(reading, name)).toEqual(exposed(name));
    }
    expect(events.countSubscribers(A)).toBe(2);
    events.publish(A, exposed("4"));
    expect(events.countSubscribers(A)).toBe(1);
    const failure: unknown = await stalled.next().catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(AppError);
    expect(failure).toMatchObject({ code: "RATE_LIMITED", message: SUBSCRIBER_FELL_BEHIND });
    await expect(stalled.next()).resolves.toEqual({ value: undefined, done: true });
    // The reader that kept up is unaffected.
    expect(await nextWithin(reading, "4")).toEqual(exposed("4"));
  });
});
