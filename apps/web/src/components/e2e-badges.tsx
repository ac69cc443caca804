import type { ServiceE2ePolicy } from "@private-connect/api";
import { describeE2ePolicy } from "@/lib/e2e";

// Neutral for the default, green for the strict one, a warning for plaintext by choice.
const POLICY_BADGE: Record<ServiceE2ePolicy, string> = {
  required: "badge-ok",
  preferred: "badge-off",
  off: "badge-warn",
};

/** A service's effective end-to-end policy, with its meaning on hover. */
export function E2ePolicyBadge({ policy }: { policy: ServiceE2ePolicy }) {
  return (
    <span className={`badge ${POLICY_BADGE[policy]}`} title={describeE2ePolicy(policy)} data-e2e-policy={policy}>
      {policy}
    </span>
  );
}

/** Whether one open stream is end-to-end encrypted, as the hub's relay reports it. */
export function StreamEncryptionBadge({ isEndToEnd }: { isEndToEnd: boolean }) {
  return (
    <span
      className={`badge ${isEndToEnd ? "badge-ok" : "badge-off"}`}
      title={isEndToEnd ? "The hub relays only ciphertext it cannot read" : "The hub relays this stream in plaintext"}
    >
      {isEndToEnd ? "end to end" : "plaintext"}
    </span>
  );
}
