import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { type DoctorCheck, describeFailure, fail, formatSeconds, NETWORK_TIMEOUT_MS, pass } from "./check.js";

const NAME = "healthz";

/** The hub's answer to GET /healthz, with the local times around it for the clock check. */
export interface HealthAnswer {
  status: number;
  /** The HTTP Date header, when the hub sent one. */
  date: string | undefined;
  sentAt: number;
  receivedAt: number;
}

/** GET <hub>/healthz, bounded; only the status and headers matter, the body is drained. */
export function fetchHealth(hubUrl: string, options: { timeoutMs?: number } = {}): Promise<HealthAnswer> {
  const timeoutMs = options.timeoutMs ?? NETWORK_TIMEOUT_MS;
  const url = new URL(`${hubUrl.replace(/\/+$/, "")}/healthz`);
  const request = url.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const sentAt = Date.now();
    const req = request(url, { method: "GET" }, (res) => {
      const receivedAt = Date.now();
      clearTimeout(timer);
      res.resume();
      req.destroy();
      resolve({ status: res.statusCode ?? 0, date: res.headers.date, sentAt, receivedAt });
    });
    const timer = setTimeout(() => {
      req.destroy(new Error(`no answer within ${formatSeconds(timeoutMs)}`));
    }, timeoutMs);
    req.once("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    req.end();
  });
}

export function checkHealth(hubUrl: string, answer: HealthAnswer | Error): DoctorCheck {
  if (answer instanceof Error) {
    return fail(
      NAME,
      `GET ${hubUrl}/healthz failed: ${describeFailure(answer)}`,
      "check that the hub is running (connect-hub start) and that --hub points at it",
    );
  }
  if (answer.status !== 200) {
    return fail(
      NAME,
      `GET ${hubUrl}/healthz answered ${answer.status}, not 200`,
      "check the hub's log; a proxy in front of it may be sending this (is the URL's path right?)",
    );
  }
  return pass(NAME, `GET /healthz answered 200 in ${answer.receivedAt - answer.sentAt} ms`);
}
