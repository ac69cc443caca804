import { describe, expect, it } from "vitest";
import { buildDownstreamHeaders } from "./forward-headers.js";

const PATH_FORM = {
  isUpgrade: false,
  status: 200,
  pathFormPrefix: "/l/abcdefghijklmnopqrstuvwxyz",
  visitorOrigin: "http://hub.test",
};
const HOST_FORM = { isUpgrade: false, status: 200, linkHostName: "abcdefghijklmnopqrstuvwxyz.links.test" };

function namesPassed(headers: string[], context: Parameters<typeof buildDownstreamHeaders>[1]): string[] {
  const head = buildDownstreamHeaders(headers, context);
  if (head.kind !== "passed") throw new Error("refused");
  return head.headers.filter((_, index) => index % 2 === 0);
}

describe("buildDownstreamHeaders: headers that act beyond the link", () => {
  it("drops Clear-Site-Data in both forms: it would clear the dashboard's cookies too", () => {
    const headers = ["Clear-Site-Data", '"cookies"', "Content-Type", "text/plain"];
    expect(namesPassed(headers, HOST_FORM)).toEqual(["Content-Type"]);
    expect(namesPassed(headers, PATH_FORM)).toEqual(["Content-Type", "Content-Security-Policy"]);
  });

  it("drops origin-wide policies in the path form, where the origin is the hub's, and keeps them on the link's own host", () => {
    const headers = [
      "Strict-Transport-Security",
      "max-age=0",
      "Alt-Svc",
      'h2="evil.example:443"',
      "NEL",
      '{"report_to":"x","max_age":86400,"success_fraction":1}',
      "Report-To",
      '{"group":"x","endpoints":[{"url":"https://evil.example/r"}]}',
      "Reporting-Endpoints",
      'x="https://evil.example/r"',
      "Service-Worker-Allowed",
      "/",
      "ETag",
      '"1"',
    ];
    expect(namesPassed(headers, PATH_FORM)).toEqual(["ETag", "Content-Security-Policy"]);
    expect(namesPassed(headers, HOST_FORM)).toEqual([
      "Strict-Transport-Security",
      "Alt-Svc",
      "NEL",
      "Report-To",
      "Reporting-Endpoints",
      "Service-Worker-Allowed",
      "ETag",
    ]);
  });
});
