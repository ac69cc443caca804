import { randomUUID } from "node:crypto";
import type { ServiceRef, ServiceTraffic } from "@private-connect/api";
import type { Logger } from "../logger.js";
import type { ClusterBus } from "./cluster-bus.js";
import { PendingReplies } from "./pending-replies.js";

/** How long a dashboard read waits for another hub's answer before showing what it has. */
export const TRAFFIC_ANSWER_TIMEOUT_MS = 1_000;

/** This hub's own counters for services whose agents it holds. */
export type DescribeLocalTraffic = (services: ServiceRef[], listed: number) => ServiceTraffic[];

export interface RemoteTraffic {
  /**
   * Asks the hub holding these services' agents for their traffic. Rejects when Redis is away, or
   * when the hub does not answer within the timeout (it died, or runs code that does not know
   * the question): the caller then shows what it knows itself.
   */
  ask(hubId: string, services: ServiceRef[], listed: number): Promise<ServiceTraffic[]>;
  /** Stops answering, and fails the questions still waiting. */
  close(): void;
}

/**
 * The dashboard's per-service traffic across hubs. A service's streams all pass through the hub
 * that holds its agent, whichever hub the reach or the link came in through, so that hub alone
 * has the whole count: the hub serving the page asks it, over the hubs' inboxes, and it answers
 * from its own relay. Questions and answers are paired by a request id; the asking hub checks
 * the answer came from the hub it asked.
 */
export function createRemoteTraffic(
  bus: ClusterBus,
  describeLocal: DescribeLocalTraffic,
  log: Logger,
  timeoutMs: number = TRAFFIC_ANSWER_TIMEOUT_MS,
): RemoteTraffic {
  const waiting = new PendingReplies<ServiceTraffic[]>();

  const stopAnswering = bus.onHubMessage("trafficQuery", (question) => {
    const traffic = describeLocal(question.services, question.listed);
    bus
      .sendToHub(question.from, { kind: "trafficReply", requestId: question.requestId, traffic })
      .catch((error: unknown) => log.debug({ err: String(error), to: question.from }, "could not answer a traffic question"));
  });

  const stopHearing = bus.onHubMessage("trafficReply", (answer) => {
    waiting.reply(answer.requestId, answer.traffic, answer.from);
  });

  return {
    async ask(hubId, services, listed) {
      const requestId = randomUUID();
      const answer = waiting.wait(
        requestId,
        timeoutMs,
        () => new Error(`hub ${hubId} did not answer within ${timeoutMs} ms`),
        hubId,
      );
      bus.sendToHub(hubId, { kind: "trafficQuery", requestId, listed, services }).catch((error: unknown) => {
        waiting.fail(requestId, error instanceof Error ? error : new Error(String(error)));
      });
      const traffic = await answer;
      if (traffic.length !== services.length) {
        throw new Error(`hub ${hubId} answered for ${traffic.length} of ${services.length} services`);
      }
      return traffic;
    },

    close() {
      stopAnswering();
      stopHearing();
      waiting.failAll(new Error("the hub is stopping"));
    },
  };
}
