import { z } from "zod";
import type { CheckProtocol } from "../check/check-service.js";
import { ENV_NAME_PATTERN, PROJECT_NAME_PATTERN } from "./service-name.js";
import { findUrlTemplateProblem } from "./url-template.js";

/**
 * The protocols connect dev can wait on: check-service's checkProtocols, repeated so that
 * reading a project file loads none of the probes (the MCP server reads files too).
 */
export const projectProtocols = ["postgres", "mysql", "redis", "http", "tls", "tcp"] as const;
type IsSameUnion<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
/** Fails to compile the day the two lists drift apart. */
export const areProtocolsInStep: IsSameUnion<CheckProtocol, (typeof projectProtocols)[number]> = true;

/** More services than anyone's project needs; a bound on what one file can ask the agent to bind. */
export const MAX_PROJECT_SERVICES = 100;

const NAME_RULE = "must be 1-63 lowercase letters, digits and dashes, starting with a letter or digit (for example prod-db)";
const PORT_RULE = "must be a whole number from 1 to 65535";
const FROM_RULE = "must be a workspace slug as connect services shows it (lowercase letters, digits and dashes)";
const ENV_RULE =
  "must be an environment variable name: capital letters, digits and _, not starting with a digit (for example DATABASE_URL)";
const PROTOCOL_RULE = `must be one of ${projectProtocols.join(", ")}`;
const HUB_RULE = "must be a hub URL such as https://hub.example.com";

// Every check of a field says the same sentence, so a user reads one rule, not zod's vocabulary.
const serviceSchema = z.strictObject({
  name: z.string({ error: NAME_RULE }).regex(PROJECT_NAME_PATTERN, { error: NAME_RULE }),
  port: z.number({ error: PORT_RULE }).int({ error: PORT_RULE }).min(1, { error: PORT_RULE }).max(65535, { error: PORT_RULE }),
  from: z.string({ error: FROM_RULE }).regex(PROJECT_NAME_PATTERN, { error: FROM_RULE }).optional(),
  env: z.string({ error: ENV_RULE }).regex(ENV_NAME_PATTERN, { error: ENV_RULE }).optional(),
  url: z
    .string({ error: "must be a URL template such as postgresql://app@{host}:{port}/app" })
    .superRefine((template, context) => {
      const problem = findUrlTemplateProblem(template);
      if (problem !== undefined) context.addIssue({ code: "custom", message: problem });
    })
    .optional(),
  protocol: z.enum(projectProtocols, { error: PROTOCOL_RULE }).optional(),
});

export const SERVICE_KEYS = Object.keys(serviceSchema.shape);

export const projectSchema = z
  .strictObject({
    hub: z
      .string({ error: HUB_RULE })
      .refine((value) => /^(https?|wss?):\/\/[^\s]+$/i.test(value.trim()), { error: HUB_RULE })
      .optional(),
    services: z
      .array(serviceSchema, { error: "must be a list of services, each with a name and a port" })
      .min(1, { error: "lists no service: add one with a name and a port" })
      .max(MAX_PROJECT_SERVICES, { error: `lists more than ${MAX_PROJECT_SERVICES} services` }),
  })
  .superRefine((project, context) => {
    const seenNames = new Map<string, number>();
    const seenPorts = new Map<number, number>();
    const seenEnvs = new Map<string, number>();
    project.services.forEach((service, index) => {
      const key = `${service.from ?? ""}/${service.name}`;
      const sameName = seenNames.get(key);
      if (sameName !== undefined) {
        context.addIssue({ code: "custom", path: ["services", index, "name"], message: `repeats services[${sameName}]` });
      } else seenNames.set(key, index);
      const samePort = seenPorts.get(service.port);
      if (samePort !== undefined) {
        context.addIssue({
          code: "custom",
          path: ["services", index, "port"],
          message: `repeats the port of services[${samePort}]: each service needs its own local port`,
        });
      } else seenPorts.set(service.port, index);
      if (service.env !== undefined) {
        const sameEnv = seenEnvs.get(service.env);
        if (sameEnv !== undefined) {
          context.addIssue({
            code: "custom",
            path: ["services", index, "env"],
            message: `repeats the variable of services[${sameEnv}]: one variable can hold one service`,
          });
        } else seenEnvs.set(service.env, index);
      }
      if (service.url !== undefined && service.env === undefined) {
        context.addIssue({
          code: "custom",
          path: ["services", index, "url"],
          message: "needs env: the variable the filled-in url is written to",
        });
      }
    });
  });

export const PROJECT_KEYS = Object.keys(projectSchema.shape);
