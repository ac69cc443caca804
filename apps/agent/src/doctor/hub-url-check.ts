import { isLoopbackHost } from "../config/hub-url.js";
import { type DoctorCheck, fail, pass, warn } from "./check.js";

const NAME = "hub url";

/**
 * Plain http:// or ws:// beyond loopback sends the agent token and every relayed byte in the
 * clear. Allowed only under CONNECT_ALLOW_INSECURE=true, and still a warning then.
 */
export function checkHubUrl(hubUrl: string, options: { isInsecureAllowed: boolean }): DoctorCheck {
  let url: URL;
  try {
    url = new URL(hubUrl);
  } catch {
    return fail(
      NAME,
      `Invalid hub URL ${hubUrl} in identity.json`,
      "register again: connect up --hub https://HOST --api-key KEY",
    );
  }
  const isPlain = url.protocol === "http:" || url.protocol === "ws:";
  if (!isPlain) return pass(NAME, `${hubUrl} (encrypted)`);
  if (isLoopbackHost(url.hostname)) return pass(NAME, `${hubUrl} (plain, but loopback never leaves this machine)`);
  const detail = `${hubUrl} is not encrypted: the agent token and every relayed byte cross the network in the clear`;
  const fix = "serve the hub over TLS and register with connect up --hub https://HOST --api-key KEY";
  return options.isInsecureAllowed
    ? warn(NAME, `${detail} (allowed by CONNECT_ALLOW_INSECURE=true)`, fix)
    : fail(NAME, `${detail}; the agent refuses it without CONNECT_ALLOW_INSECURE=true`, fix);
}
