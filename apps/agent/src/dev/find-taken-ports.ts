import { createServer } from "node:net";

/** Whether nothing listens on host:port now (a listen that works is closed again at once). */
export function isPortFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** The ports of `ports` that something already listens on, in the order given. */
export async function findTakenPorts(host: string, ports: readonly number[]): Promise<number[]> {
  const taken: number[] = [];
  // One at a time: a handful of ports, and the answer must not depend on the order of binds.
  for (const port of ports) if (!(await isPortFree(host, port))) taken.push(port);
  return taken;
}
