import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/** One tRPC call the fake hub received: the procedure, its input and the bearer it came with. */
export interface FakeHubCall {
  procedure: string;
  input: unknown;
  authorization: string | undefined;
}

/** What a handler answers: data, or a tRPC error (code as tRPC names it, e.g. NOT_FOUND). */
export type FakeHubAnswer = { data: unknown } | { error: { code: string; httpStatus: number; message: string } };

export interface FakeHubServer {
  url: string;
  calls: FakeHubCall[];
  close(): Promise<void>;
}

async function readInput(request: IncomingMessage, url: URL): Promise<unknown> {
  if (request.method === "GET") {
    const raw = url.searchParams.get("input");
    return raw === null ? undefined : JSON.parse(raw);
  }
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString("utf8");
  return text === "" ? undefined : JSON.parse(text);
}

/**
 * A loopback HTTP server that speaks just enough tRPC (non-batched httpLink, no transformer) for
 * command tests: each call is recorded, so a test can also prove a call was never made.
 */
export async function startFakeHubServer(handle: (call: FakeHubCall) => FakeHubAnswer | undefined): Promise<FakeHubServer> {
  const calls: FakeHubCall[] = [];
  const server: Server = createServer((request, response) => {
    const url = new URL(request.url ?? "/", "http://127.0.0.1");
    void readInput(request, url).then((input) => {
      const call = { procedure: url.pathname.replace(/^\/trpc\//, ""), input, authorization: request.headers.authorization };
      calls.push(call);
      const answer = handle(call) ?? {
        error: { code: "NOT_FOUND", httpStatus: 404, message: `No procedure ${call.procedure} in the fake hub` },
      };
      const body =
        "data" in answer
          ? { result: { data: answer.data } }
          : {
              error: {
                message: answer.error.message,
                code: -32004,
                data: { code: answer.error.code, httpStatus: answer.error.httpStatus, appCode: answer.error.code },
              },
            };
      response.writeHead("data" in answer ? 200 : answer.error.httpStatus, { "content-type": "application/json" });
      response.end(JSON.stringify(body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
