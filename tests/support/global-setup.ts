// Vitest globalSetup of the unit and e2e projects: picks the PostgreSQL server once per project
// and hands its admin URL to the test files (inject("postgres")); stops a throwaway cluster at
// the end.
import type { TestProject } from "vitest/node";
import { acquirePostgres } from "./postgres.ts";

export interface ProvidedPostgres {
  adminUrl: string;
  host: string;
  port: number;
  source: "env" | "local" | "throwaway";
}

declare module "vitest" {
  export interface ProvidedContext {
    postgres: ProvidedPostgres | null;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const server = await acquirePostgres();
  if (server) {
    const { adminUrl, host, port, source } = server;
    console.log(`${project.name}: PostgreSQL cases run on ${host}:${port} (${source})`);
    project.provide("postgres", { adminUrl, host, port, source });
  } else {
    project.provide("postgres", null);
  }
  return async () => {
    await server?.stop();
  };
}
