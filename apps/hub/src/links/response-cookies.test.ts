import { describe, expect, it } from "vitest";
import { isSessionCookieName, judgeSetCookie } from "./response-cookies.js";

const PATH_FORM = { pathFormPrefix: "/l/abcdefghijklmnopqrstuvwxyz", servicePath: "/app/page" };
const HOST_FORM = { linkHostName: "abcdefghijklmnopqrstuvwxyz.links.example.com" };

describe("judgeSetCookie: a linked service cannot set the hub's session cookie", () => {
  // Each is read as pc_session by a browser (empty name, whitespace) or by some server (case,
  // quotes, prefixes, percent-encoding, commas as separators).
  it.each([
    "pc_session=x; Path=/",
    "PC_SESSION=x; Path=/",
    "Pc_Session=x",
    '"pc_session"=x; Path=/',
    "=pc_session=x; Path=/",
    "= pc_session=x",
    "pc_session",
    " pc_session =x",
    "\tpc_session\t=x",
    "__Host-pc_session=x; Path=/; Secure",
    "__Secure-pc_session=x; Secure",
    "__HOST-PC_SESSION=x",
    "__Secure-__Host-pc_session=x",
    '__Host-"pc_session"=x',
    "pc%5Fsession=x",
    "%70c_session=x",
    "=__Host-pc_session=x",
    "a=b, pc_session=x",
  ])("drops %j in both URL forms", (setCookie) => {
    expect(judgeSetCookie(setCookie, PATH_FORM)).toMatchObject({ kind: "dropped" });
    expect(judgeSetCookie(setCookie, HOST_FORM)).toMatchObject({ kind: "dropped" });
  });

  it("drops a Set-Cookie with control characters, which browsers would ignore anyway", () => {
    expect(judgeSetCookie("a=1\u0001; Path=/", HOST_FORM)).toMatchObject({ kind: "dropped" });
  });

  it("keeps cookies whose names only resemble it", () => {
    for (const name of ["pc_session2", "my_pc_session", "pc-session", "session"]) {
      expect(isSessionCookieName(name), name).toBe(false);
      expect(judgeSetCookie(`${name}=1`, HOST_FORM)).toEqual({ kind: "kept", value: `${name}=1` });
    }
  });
});

describe("judgeSetCookie: Domain and Path", () => {
  it.each([
    "a=1; Domain=127.0.0.1",
    "a=1; Domain=example.com",
    "a=1; domain=.example.com; Path=/",
    "a=1; Path=/; DOMAIN=hub.example.com",
    "a=1; Domain=",
  ])("drops %j on a path-form link, which shares the hub's host", (setCookie) => {
    expect(judgeSetCookie(setCookie, PATH_FORM)).toMatchObject({ kind: "dropped" });
  });

  it("lets a host-form link name its own host, never a parent (the dashboard's, or every link's)", () => {
    expect(judgeSetCookie(`a=1; Domain=${HOST_FORM.linkHostName}`, HOST_FORM)).toMatchObject({ kind: "kept" });
    expect(judgeSetCookie(`a=1; Domain=.${HOST_FORM.linkHostName.toUpperCase()}`, HOST_FORM)).toMatchObject({ kind: "kept" });
    expect(judgeSetCookie("a=1; Domain=links.example.com", HOST_FORM)).toMatchObject({ kind: "dropped" });
    expect(judgeSetCookie("a=1; Domain=example.com", HOST_FORM)).toMatchObject({ kind: "dropped" });
    expect(judgeSetCookie("a=1; Path=/; HttpOnly", HOST_FORM)).toEqual({ kind: "kept", value: "a=1; Path=/; HttpOnly" });
  });

  it("moves a path-form cookie's Path under /l/<slug>, so the hub's and the dashboard's pages never get it", () => {
    const prefix = PATH_FORM.pathFormPrefix;
    expect(judgeSetCookie("a=1; Path=/; HttpOnly", PATH_FORM)).toEqual({ kind: "kept", value: `a=1; Path=${prefix}; HttpOnly` });
    expect(judgeSetCookie("a=1; Path=/api; Secure", PATH_FORM)).toEqual({
      kind: "kept",
      value: `a=1; Path=${prefix}/api; Secure`,
    });
    // No Path: the default, from the path the service was asked for (/app/page -> /app).
    expect(judgeSetCookie("a=1; HttpOnly", PATH_FORM)).toEqual({ kind: "kept", value: `a=1; HttpOnly; Path=${prefix}/app` });
    expect(judgeSetCookie("a=1", { ...PATH_FORM, servicePath: "/" })).toEqual({ kind: "kept", value: `a=1; Path=${prefix}` });
    // A Path a browser would ignore (not starting with /) gets the default too.
    expect(judgeSetCookie("a=1; Path=relative", PATH_FORM)).toEqual({ kind: "kept", value: `a=1; Path=${prefix}/app` });
  });
});
