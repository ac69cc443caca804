import { Args, Flags, ux } from "@oclif/core";
import type { CreatedLink, LinkView, RevokedLink } from "@private-connect/api";
import { BaseCommand } from "../cli/base-command.js";
import { parseDuration } from "../cli/parse-duration.js";
import { ConnectError } from "../errors.js";
import { parseLinkMethods, parseLinkPaths } from "../sdk/links.js";
import { formatLinks, listLinks } from "./link/list.js";
import { describeRevokedLink, revokeLink } from "./link/revoke.js";

export default class Link extends BaseCommand<typeof Link> {
  static override summary = "give a service of this workspace a public HTTP link, with restrictions";
  static override description =
    "Prints a URL that anyone holding it can use to reach SERVICE over HTTP (and WebSocket) through the hub, until it expires or you revoke it. The URL is shown once: the hub keeps only a hash of it. --methods answers other methods with 405, --paths answers paths outside the prefixes with 403 (prefixes match whole segments of the normalized path, so .., encoded dots and slashes, duplicate slashes and backslashes cannot escape them), --rate-limit answers a client address over its budget with 429. connect link list shows the workspace's links; connect link revoke URL cuts requests in flight. (A service named list or revoke: put a flag first, as in connect link --expires 7d list.)";
  static override enableJsonFlag = true;
  static override examples = [
    "<%= config.bin %> link api --expires 30d --methods GET --paths /api/v1,/health --rate-limit 100",
    "<%= config.bin %> link grafana --expires 12h",
  ];
  static override args = {
    service: Args.string({ description: "name of the exposed service to link to, for example api", required: false }),
  };
  static override flags = {
    expires: Flags.string({ description: "how long the link works: 90m, 12h, 30d, 2w", default: "7d", helpValue: "DURATION" }),
    methods: Flags.string({ description: "comma-separated HTTP methods to allow (default: all)", helpValue: "GET,HEAD" }),
    paths: Flags.string({
      description: "comma-separated path prefixes to allow (default: all)",
      helpValue: "/api/v1,/health",
    }),
    "rate-limit": Flags.integer({ description: "requests per minute per client address", helpValue: "N", min: 1 }),
    // The forms before `link list` and `link revoke`: kept working (with a hint), out of help.
    list: Flags.boolean({
      description: "deprecated: use connect link list",
      hidden: true,
      exclusive: ["revoke", "methods", "paths", "rate-limit"],
    }),
    revoke: Flags.string({
      description: "deprecated: use connect link revoke URL|SLUG|ID",
      hidden: true,
      exclusive: ["list", "methods", "paths", "rate-limit"],
    }),
  };

  async run(): Promise<CreatedLink | LinkView[] | RevokedLink> {
    const { flags } = this;
    const { service } = this.args;
    if (flags.list || flags.revoke !== undefined) {
      if (service !== undefined) {
        throw new ConnectError("INVALID_INPUT", `Give either a SERVICE to link or --${flags.list ? "list" : "revoke"}, not both`);
      }
    }
    if (flags.list) {
      // On stderr even under --json (logToStderr would drop it): scripts keep old forms longest.
      ux.stderr("Warning: connect link --list is deprecated: use connect link list");
      const links = await this.callHubAsAgent(listLinks);
      if (!this.jsonEnabled()) this.log(formatLinks(links));
      return links;
    }
    if (flags.revoke !== undefined) {
      ux.stderr("Warning: connect link --revoke is deprecated: use connect link revoke URL|SLUG|ID");
      const target = flags.revoke;
      const revoked = await this.callHubAsAgent((client) => revokeLink(client, target));
      this.report(describeRevokedLink(revoked));
      return revoked;
    }
    if (service === undefined || service.trim() === "") {
      throw new ConnectError(
        "INVALID_INPUT",
        "Name the service to link to, for example connect link api --expires 30d (connect link list shows existing links)",
      );
    }
    // Validated here too, so a typo gets the same answer with or without a reachable hub.
    const expiresInSeconds = parseDuration(flags.expires, "--expires");
    const methods = flags.methods === undefined ? undefined : parseLinkMethods(flags.methods);
    const paths = flags.paths === undefined ? undefined : parseLinkPaths(flags.paths);
    const created = await this.callHubAsAgent((client) =>
      client.links.create.mutate({
        service: service.trim(),
        expiresInSeconds,
        ...(methods === undefined ? {} : { methods }),
        ...(paths === undefined ? {} : { paths }),
        ...(flags["rate-limit"] === undefined ? {} : { rateLimitPerMinute: flags["rate-limit"] }),
      }),
    );
    this.report(formatCreatedLink(created));
    return created;
  }
}

function formatCreatedLink(link: CreatedLink): string[] {
  return [
    link.url,
    `Link to ${link.service}, until ${link.expiresAt}`,
    `  methods     ${link.methods.length === 0 ? "any" : link.methods.join(", ")}`,
    `  paths       ${link.paths.length === 0 ? "any" : link.paths.map((path) => `${path} (and below)`).join(", ")}`,
    `  rate limit  ${link.rateLimitPerMinute === null ? "none" : `${link.rateLimitPerMinute} requests per minute per client address`}`,
    "The URL is shown only once. Revoke it with: connect link revoke <URL>",
  ];
}
