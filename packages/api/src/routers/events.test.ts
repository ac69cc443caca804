import { randomUUID } from "node:crypto";
import type { AddressInfo } from "node:net";
import { TRPCError } from "@trpc/server";
import { createHTTPServer } from "@trpc/server/adapters/standalone";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { INVALID_CREDENTIALS, SESSION_EXPIRED } from "../errors.js";
import { createWorkspaceEvents, SUBSCRIBER_FELL_BEHIND } from "../events/workspace-events.js";
import { appRouter, createCaller } from "../root.js";
import type { WorkspaceEventMessage } from "../schemas/events.js";
import { announceAgentOffline, announceAgentOnline } from "../services/agents/announce-agent-presence.js";
import { API_KEY_REVOKED } from "../services/api-keys/revoke-api-key.js";
import { SESSION_COOKIE_NAME } from "../services/auth/session-cookie.js";
import { expectAppError, type Harness, openHarness, testEngines } from "../test-support/harness.js";
import { nextWithin, readServerSentEvents, type ServerSentEvent } from "../test-support/server-sent-events.js";
import { createContextFromRequest, createContextInner } from "../trpc.js";

interface TestAgent {
  agentId: string;
  token: string;
}

describe.each(testEngines)("events.workspace subscription on $name", ({ name, skip }) => {
  let harness: Harness;
  let workspaceA: string;
  let workspaceB: string;
  let apiKeyA: string;
  let apiKeyB: string;
  let serverA: TestAgent;
  let agentB: TestAgent;
  const subscriptions = new AbortController();

  beforeAll(async () => {
    if (skip) return;
    harness = await openHarness(name);
    ({ workspaceId: workspaceA, apiKey: apiKeyA } = await harness.createTestWorkspace("Events A"));
    ({ workspaceId: workspaceB, apiKey: apiKeyB } = await harness.createTestWorkspace("Events B"));
    serverA = await harness.registerTestAgent(apiKeyA, "server-a");
    agentB = await harness.registerTestAgent(apiKeyB, "agent-b");
  });

  afterAll(async () => {
    subscriptions.abort();
    await harness?.close();
  });

  /** Subscribes as the bearer and returns the stream once `subscribed` has arrived. */
  async function subscribe(bearer: string, signal = subscriptions.signal): Promise<AsyncIterator<WorkspaceEventMessage>> {
    const stream = await (await harness.caller(bearer, { signal })).events.workspace();
    const iterator = stream[Symbol.asyncIterator]();
    const first = await nextWithin(iterator, "the subscribed message");
    expect(first.type).toBe("subscribed");
    return iterator;
  }

  it.skipIf(skip)("delivers A's agent and service events to A's subscribers and none of them to B's", async () => {
    const asA = await subscribe(apiKeyA);
    const asAgentA = await subscribe(serverA.token);
    const asB = await subscribe(apiKeyB);
    const asAgentB = await subscribe(agentB.token);

    const callerA = await harness.caller(serverA.token);
    announceAgentOnline(harness.deps, { workspaceId: workspaceA, agentId: serverA.agentId, label: "server-a" });
    await callerA.services.expose({ name: "prod-db", targetHost: "127.0.0.1", targetPort: 5432 });
    await callerA.services.unexpose({ name: "prod-db" });
    announceAgentOffline(harness.deps, { workspaceId: workspaceA, agentId: serverA.agentId, label: "server-a" });
    // B's own marker, published after all of A's events: each channel is delivered in order, so
    // if anything of A's had reached B it would arrive before this.
    await (await harness.caller(agentB.token)).services.expose({ name: "b-marker", targetHost: "127.0.0.1", targetPort: 1 });

    const expectedA: WorkspaceEventMessage[] = [
      { type: "agent.online", agentId: serverA.agentId, label: "server-a" },
      { type: "service.exposed", name: "prod-db", agentId: serverA.agentId },
      { type: "service.removed", name: "prod-db", agentId: serverA.agentId },
      { type: "agent.offline", agentId: serverA.agentId, label: "server-a" },
    ];
    for (const stream of [asA, asAgentA]) {
      for (const expected of expectedA) expect(await nextWithin(stream, expected.type)).toEqual(expected);
    }
    for (const stream of [asB, asAgentB]) {
      expect(await nextWithin(stream, "B's marker")).toEqual({
        type: "service.exposed",
        name: "b-marker",
        agentId: agentB.agentId,
      });
    }
    // And the other way round: A's streams skip B's marker and go straight to A's next event.
    announceAgentOnline(harness.deps, { workspaceId: workspaceA, agentId: serverA.agentId, label: "server-a" });
    for (const stream of [asA, asAgentA]) {
      expect(await nextWithin(stream, "A's second online")).toMatchObject({ type: "agent.online" });
    }
  });

  it.skipIf(skip)("takes the channel from the credentials, never from what the client sends", async () => {
    const caller = await harness.caller(apiKeyB, { signal: subscriptions.signal });
    // The procedure takes no input; a client trying to name A's workspace is simply ignored.
    const stream = await (caller.events.workspace as (input: unknown) => ReturnType<typeof caller.events.workspace>)({
      workspaceId: workspaceA,
    });
    const iterator = stream[Symbol.asyncIterator]();
    expect(await nextWithin(iterator, "subscribed")).toEqual({ type: "subscribed", workspaceId: workspaceB });
    harness.deps.events.publish(workspaceA, { type: "service.exposed", name: "a-only", agentId: serverA.agentId });
    harness.deps.events.publish(workspaceB, { type: "service.exposed", name: "b-only", agentId: agentB.agentId });
    expect(await nextWithin(iterator, "B's event")).toMatchObject({ name: "b-only" });
  });

  it.skipIf(skip)("refuses subscribers without valid credentials", async () => {
    await expectAppError((await harness.caller()).events.workspace(), "UNAUTHORIZED", /^Missing credentials/);
    await expectAppError(
      (await harness.caller("pc_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")).events.workspace(),
      "UNAUTHORIZED",
      INVALID_CREDENTIALS,
    );
  });

  it.skipIf(skip)("ends a revoked agent's open subscription at once, with the reason, and nobody else's", async () => {
    const doomed = await harness.registerTestAgent(apiKeyA, "doomed-listener");
    const asDoomed = await subscribe(doomed.token);
    const asServer = await subscribe(serverA.token);
    const pending = asDoomed.next().catch((error: unknown) => error);
    await (await harness.caller(apiKeyA)).agents.revoke({ agentId: doomed.agentId });
    const failure = await pending;
    expect(failure).toBeInstanceOf(TRPCError);
    expect(failure).toMatchObject({
      code: "UNAUTHORIZED",
      message: "This agent was revoked by an owner of Events A: ask them to let you in again",
    });
    // What happens in the workspace afterwards reaches the others, not the revoked agent.
    harness.deps.events.publish(workspaceA, { type: "service.exposed", name: "after-revoke", agentId: serverA.agentId });
    expect(await nextWithin(asServer, "the event after the revocation")).toMatchObject({ name: "after-revoke" });
    await expect(asDoomed.next()).resolves.toEqual({ value: undefined, done: true });
  });

  /** Subscribes as a browser with this session cookie, acting in the workspace (x-pc-workspace). */
  async function subscribeAsSession(sessionToken: string, workspaceId: string): Promise<AsyncIterator<WorkspaceEventMessage>> {
    const context = await createContextInner({
      deps: harness.deps,
      cookieHeader: `${SESSION_COOKIE_NAME}=${sessionToken}`,
      workspaceId,
      setCookie: () => undefined,
      clearCookie: () => undefined,
    });
    const iterator = (await createCaller(context, { signal: subscriptions.signal }).events.workspace())[Symbol.asyncIterator]();
    expect(await nextWithin(iterator, "the subscribed message")).toEqual({ type: "subscribed", workspaceId });
    return iterator;
  }

  /** The error a stream ended with, as the dashboard's onError receives it (a timeout is a plain Error). */
  async function expectStreamEnd(pending: Promise<unknown>, code: string, message: string): Promise<void> {
    const failure = await pending;
    expect(failure).toBeInstanceOf(TRPCError);
    expect(failure).toMatchObject({ code, message });
  }

  it.skipIf(skip)(
    "ends a removed member's open subscription with a 403 saying so; the owner's, and the member's other workspace's, go on",
    async () => {
      const owner = await harness.signIn(`events-owner-${randomUUID()}@example.com`);
      const member = await harness.signIn(`events-member-${randomUUID()}@example.com`);
      const [team] = owner.workspaces;
      const [own] = member.workspaces;
      if (team === undefined || own === undefined) throw new Error("signing in made no first workspace");
      await (await owner.in(team.id)).members.invite({ email: member.email });
      const [invitation] = await (await member.browser.caller()).invitations.list();
      if (invitation === undefined) throw new Error("the invitation did not arrive");
      await (await member.browser.caller()).invitations.accept({ id: invitation.id });

      const asMember = await subscribeAsSession(member.sessionToken, team.id);
      const asOwner = await subscribeAsSession(owner.sessionToken, team.id);
      const asMemberAtHome = await subscribeAsSession(member.sessionToken, own.id);
      const pending = nextWithin(asMember, "the end of the removed member's stream").catch((error: unknown) => error);
      await (await owner.in(team.id)).members.remove({ userId: member.userId });
      await expectStreamEnd(
        pending,
        "FORBIDDEN",
        `You no longer have access to ${team.name}: an owner removed you. Ask an owner to invite you again`,
      );
      await expect(asMember.next()).resolves.toEqual({ value: undefined, done: true });

      harness.deps.events.publish(team.id, { type: "service.exposed", name: "after-removal", agentId: serverA.agentId });
      expect(await nextWithin(asOwner, "the team's event after the removal")).toMatchObject({ name: "after-removal" });
      harness.deps.events.publish(own.id, { type: "service.exposed", name: "at-home", agentId: serverA.agentId });
      expect(await nextWithin(asMemberAtHome, "the member's own workspace's event")).toMatchObject({ name: "at-home" });
    },
  );

  it.skipIf(skip)(
    "ends a stream opened with an API key when the key is revoked, and not one opened with another key",
    async () => {
      const created = await (await harness.caller(apiKeyA)).apiKeys.create({ name: "events-doomed" });
      const asDoomedKey = await subscribe(created.key);
      const asOtherKey = await subscribe(apiKeyA);
      const pending = nextWithin(asDoomedKey, "the end of the revoked key's stream").catch((error: unknown) => error);
      await (await harness.caller(apiKeyA)).apiKeys.revoke({ id: created.id });
      await expectStreamEnd(pending, "UNAUTHORIZED", API_KEY_REVOKED);
      await expect(asDoomedKey.next()).resolves.toEqual({ value: undefined, done: true });
      harness.deps.events.publish(workspaceA, { type: "service.exposed", name: "after-key-revoke", agentId: serverA.agentId });
      expect(await nextWithin(asOtherKey, "the event after the key's revocation")).toMatchObject({ name: "after-key-revoke" });
    },
  );

  it.skipIf(skip)("ends a signed-out session's stream, and not the same person's stream in another browser", async () => {
    const email = `events-sign-out-${randomUUID()}@example.com`;
    const laptop = await harness.signIn(email);
    const phone = await harness.signIn(email);
    const [workspace] = laptop.workspaces;
    if (workspace === undefined) throw new Error("signing in made no first workspace");
    const onLaptop = await subscribeAsSession(laptop.sessionToken, workspace.id);
    const onPhone = await subscribeAsSession(phone.sessionToken, workspace.id);
    const pending = nextWithin(onLaptop, "the end of the signed-out session's stream").catch((error: unknown) => error);
    await (await laptop.browser.caller()).auth.logout();
    await expectStreamEnd(pending, "UNAUTHORIZED", SESSION_EXPIRED);
    await expect(onLaptop.next()).resolves.toEqual({ value: undefined, done: true });
    harness.deps.events.publish(workspace.id, { type: "service.exposed", name: "after-sign-out", agentId: serverA.agentId });
    expect(await nextWithin(onPhone, "the event after the other browser signed out")).toMatchObject({
      name: "after-sign-out",
    });
  });

  it.skipIf(skip)("ends a subscriber that fell behind with TOO_MANY_REQUESTS and a message saying to resubscribe", async () => {
    const deps = { ...harness.deps, events: createWorkspaceEvents({ maxQueuedPerSubscriber: 2 }) };
    const caller = createCaller(await createContextInner({ deps, bearer: apiKeyA }), { signal: subscriptions.signal });
    const iterator = (await caller.events.workspace())[Symbol.asyncIterator]();
    expect((await nextWithin(iterator, "subscribed")).type).toBe("subscribed");
    for (const name of ["1", "2", "3"]) {
      deps.events.publish(workspaceA, { type: "service.exposed", name, agentId: serverA.agentId });
    }
    const failure: unknown = await iterator.next().catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(TRPCError);
    expect(failure).toMatchObject({ code: "TOO_MANY_REQUESTS", message: SUBSCRIBER_FELL_BEHIND });
  });

  it.skipIf(skip)("lets go of a subscriber when its connection's signal aborts, even while it waits", async () => {
    const connection = new AbortController();
    const before = harness.deps.events.countSubscribers(workspaceA);
    const stream = await subscribe(apiKeyA, connection.signal);
    expect(harness.deps.events.countSubscribers(workspaceA)).toBe(before + 1);
    const waiting = stream.next();
    connection.abort();
    await expect(waiting).resolves.toEqual({ value: undefined, done: true });
    expect(harness.deps.events.countSubscribers(workspaceA)).toBe(before);
  });
});

describe("events.workspace over HTTP with server-sent events (PGlite)", () => {
  let harness: Harness;
  let baseUrl: string;
  let closeServer: () => Promise<void>;
  let workspaceA: string;
  let workspaceB: string;
  let apiKeyA: string;
  let apiKeyB: string;
  let serverA: TestAgent;
  let agentB: TestAgent;
  const connections = new AbortController();

  beforeAll(async () => {
    harness = await openHarness("pglite");
    ({ workspaceId: workspaceA, apiKey: apiKeyA } = await harness.createTestWorkspace("SSE A"));
    ({ workspaceId: workspaceB, apiKey: apiKeyB } = await harness.createTestWorkspace("SSE B"));
    serverA = await harness.registerTestAgent(apiKeyA, "server-a");
    agentB = await harness.registerTestAgent(apiKeyB, "agent-b");
    // The hub's transport: the standalone adapter under /trpc/.
    const server = createHTTPServer({
      router: appRouter,
      createContext: createContextFromRequest(harness.deps),
      basePath: "/trpc/",
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/trpc`;
    closeServer = () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
  });

  afterAll(async () => {
    connections.abort();
    await closeServer?.();
    await harness?.close();
  });

  /** Opens the SSE stream as httpSubscriptionLink does (GET, text/event-stream), bearer in the header. */
  async function openStream(bearer: string | undefined, signal = connections.signal) {
    const response = await fetch(`${baseUrl}/events.workspace`, {
      headers: { accept: "text/event-stream", ...(bearer === undefined ? {} : { authorization: `Bearer ${bearer}` }) },
      signal,
    });
    expect(response.headers.get("content-type")).toMatch(/^text\/event-stream/);
    if (response.body === null) throw new Error("no response body");
    const events = readServerSentEvents(response.body);
    const next = async (what: string): Promise<ServerSentEvent> => {
      for (;;) {
        const event = await nextWithin(events, what);
        if (event.event !== "ping" && event.event !== "connected") return event;
      }
    };
    return {
      status: response.status,
      next,
      /** The next data message, parsed; anything else (an error event) fails the test. */
      async nextMessage(what: string): Promise<WorkspaceEventMessage> {
        const event = await next(what);
        expect(event.event, `${event.event}: ${event.data}`).toBe("message");
        return JSON.parse(event.data) as WorkspaceEventMessage;
      },
    };
  }

  async function post(path: string, bearer: string, input: unknown): Promise<number> {
    const response = await fetch(`${baseUrl}/${path}`, {
      method: "POST",
      headers: { authorization: `Bearer ${bearer}`, "content-type": "application/json" },
      body: JSON.stringify(input),
      signal: AbortSignal.timeout(5_000),
    });
    await response.arrayBuffer();
    return response.status;
  }

  it("streams A's live updates to A's subscriber only", async () => {
    const streamA = await openStream(apiKeyA);
    const streamB = await openStream(apiKeyB);
    expect([streamA.status, streamB.status]).toEqual([200, 200]);
    expect(await streamA.nextMessage("A subscribed")).toEqual({ type: "subscribed", workspaceId: workspaceA });
    expect(await streamB.nextMessage("B subscribed")).toEqual({ type: "subscribed", workspaceId: workspaceB });

    // Every step over HTTP, as agents do it.
    expect(await post("services.expose", serverA.token, { name: "web", targetHost: "127.0.0.1", targetPort: 8080 })).toBe(200);
    expect(await post("services.unexpose", serverA.token, { name: "web" })).toBe(200);
    expect(await post("services.expose", agentB.token, { name: "b-marker", targetHost: "127.0.0.1", targetPort: 1 })).toBe(200);

    expect(await streamA.nextMessage("A's expose")).toEqual({ type: "service.exposed", name: "web", agentId: serverA.agentId });
    expect(await streamA.nextMessage("A's unexpose")).toEqual({
      type: "service.removed",
      name: "web",
      agentId: serverA.agentId,
    });
    // B's first event is its own marker: nothing of A's came before it.
    expect(await streamB.nextMessage("B's marker")).toEqual({
      type: "service.exposed",
      name: "b-marker",
      agentId: agentB.agentId,
    });
  });

  it("answers a subscriber without valid credentials with an UNAUTHORIZED error event and nothing else", async () => {
    const before = harness.deps.events.countSubscribers();
    for (const bearer of [undefined, "pc_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"]) {
      const stream = await openStream(bearer);
      const event = await stream.next("the error event");
      expect(event.event).toBe("serialized-error");
      expect(JSON.parse(event.data)).toMatchObject({ data: { code: "UNAUTHORIZED", appCode: "UNAUTHORIZED" } });
      await expect(stream.next("anything after the error")).rejects.toThrow(/stream ended/);
    }
    expect(harness.deps.events.countSubscribers()).toBe(before);
  });

  it("releases the subscription when the client disconnects", async () => {
    const connection = new AbortController();
    const before = harness.deps.events.countSubscribers(workspaceA);
    const stream = await openStream(apiKeyA, connection.signal);
    expect((await stream.nextMessage("subscribed")).type).toBe("subscribed");
    expect(harness.deps.events.countSubscribers(workspaceA)).toBe(before + 1);
    connection.abort();
    // The server learns of the disconnect from the socket closing: there is no event to await.
    await vi.waitFor(() => expect(harness.deps.events.countSubscribers(workspaceA)).toBe(before), {
      timeout: 5_000,
      interval: 20,
    });
  });
});
