import type { ServiceE2ePolicy } from "@private-connect/api";

/** One sentence per policy, for the pages that show one (services, a service, settings). */
export function describeE2ePolicy(policy: ServiceE2ePolicy): string {
  switch (policy) {
    case "required":
      return "every stream is end-to-end encrypted between the agents; an agent that cannot encrypt is refused, and there is no public link.";
    case "preferred":
      return "streams are end-to-end encrypted whenever both agents can, and relayed in plaintext otherwise.";
    case "off":
      return "streams are relayed in plaintext: the hub could read them.";
  }
}
