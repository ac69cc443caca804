import { readWebEnv } from "@/env";
import { forwardToHub, proxyTargetFrom } from "@/lib/server/hub-proxy";

// The browser talks to the hub's tRPC API through the dashboard's own origin, so the session
// cookie is the dashboard's. A route handler rather than a rewrite: rewrites are fixed at build
// time (HUB_URL is chosen at run time), and this one streams live updates and checks Origin.
export const dynamic = "force-dynamic";

/** Procedure paths ("agents.list", or a batch "a.b,c.d"): nothing that could climb out of /trpc/. */
const PROCEDURE_PATH = /^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*(,[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*)*$/;

type Context = { params: Promise<{ procedure: string }> };

async function handle(request: Request, context: Context): Promise<Response> {
  const { procedure } = await context.params;
  if (!PROCEDURE_PATH.test(procedure)) {
    return Response.json({ error: { message: "Not found" } }, { status: 404 });
  }
  return forwardToHub(request, procedure, proxyTargetFrom(readWebEnv()));
}

export const GET = handle;
export const POST = handle;
