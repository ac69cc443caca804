import { describe, expect, it } from "vitest";
import { parseHostPort } from "./parse-target.js";

describe("parseHostPort", () => {
  it.each([
    ["localhost:5432", "localhost", 5432],
    ["127.0.0.1:6379", "127.0.0.1", 6379],
    ["db.internal:1", "db.internal", 1],
    ["DB-1.example.com:65535", "DB-1.example.com", 65535],
    ["[::1]:5432", "::1", 5432],
    ["[fe80::1%eth0]:22", "fe80::1%eth0", 22],
  ])("accepts %s", (raw, host, port) => {
    expect(parseHostPort(raw)).toEqual({ host, port });
  });

  it.each([
    "5432",
    ":5432",
    "localhost",
    "localhost:",
    "localhost:abc",
    "localhost:05432",
    "localhost:+80",
    "localhost:0",
    "localhost:5432/db",
    "http://localhost:5432",
    "local host:5432",
    "-bad.example:80",
    "999.1.1.1:80",
    "[::1]5432",
    "[nothost]:5432",
    "[::1]:",
    "",
  ])("refuses %j with the HOST:PORT hint", (raw) => {
    expect(() => parseHostPort(raw)).toThrow(`Invalid target "${raw}": use HOST:PORT, for example localhost:5432`);
  });

  it("asks for brackets around a bare IPv6 address", () => {
    expect(() => parseHostPort("::1:5432")).toThrow(
      'Invalid target "::1:5432": put an IPv6 address in brackets, for example [::1]:5432',
    );
  });

  it("names the port range when the port is too large", () => {
    expect(() => parseHostPort("localhost:65536")).toThrow(
      'Invalid target "localhost:65536": the port must be between 1 and 65535',
    );
  });
});
