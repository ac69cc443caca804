import { describe, expect, it } from "vitest";
import { assertProjectHub, normalizeProjectHubUrl, type ProjectFile } from "./index.js";

function project(hub: string | undefined): ProjectFile {
  return { path: "/repo/pconnect.yml", ...(hub === undefined ? {} : { hub }), services: [{ name: "a", port: 1 }] };
}

describe("assertProjectHub", () => {
  it("accepts a file without hub:, whatever the agent's hub", () => {
    expect(() => assertProjectHub(project(undefined), "https://hub.example.com")).not.toThrow();
  });

  it("treats trailing slashes, case, default ports and ws/http twins as the same hub", () => {
    const own = "https://hub.example.com";
    for (const same of [
      "https://hub.example.com/",
      "HTTPS://Hub.Example.COM",
      "https://hub.example.com:443",
      "wss://hub.example.com:443/",
      " https://hub.example.com ",
    ]) {
      expect(() => assertProjectHub(project(same), own), same).not.toThrow();
    }
    expect(() => assertProjectHub(project("http://127.0.0.1:80/"), "http://127.0.0.1")).not.toThrow();
    expect(() => assertProjectHub(project("http://localhost:4000/hub/"), "http://localhost:4000/hub")).not.toThrow();
  });

  it("refuses another hub, naming both and saying nothing was sent", () => {
    const refuse =
      (hub: string, own = "https://hub.example.com") =>
      () =>
        assertProjectHub(project(hub), own);
    expect(refuse("https://evil.example")).toThrow(
      "/repo/pconnect.yml names the hub https://evil.example, but this agent's hub is https://hub.example.com: nothing was reached and nothing was sent to https://evil.example",
    );
    // Same host, another port, scheme or path is another server.
    expect(refuse("https://hub.example.com:8443")).toThrow(/names the hub/);
    expect(refuse("http://hub.example.com")).toThrow(/names the hub/);
    expect(refuse("https://hub.example.com/other")).toThrow(/names the hub/);
    expect(refuse("https://hub.example.com.evil.example")).toThrow(/names the hub/);
    // Credentials in the URL are not "the same hub with a login".
    expect(refuse("https://user:pw@hub.example.com")).toThrow(/names the hub/);
    expect(refuse("not a url")).toThrow(/names the hub/);
  });

  it("normalizes to scheme, host and path", () => {
    expect(normalizeProjectHubUrl("WSS://Hub.Example.com:443/Path/")).toBe("https://hub.example.com/Path");
    expect(normalizeProjectHubUrl("nonsense")).toBeUndefined();
  });
});
