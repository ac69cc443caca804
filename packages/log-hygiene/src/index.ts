export { type MaskIpOptions, maskIp, maskIpsInText } from "./mask-ip.js";
export { scrubUncaughtErrors, scrubWrites, type WritableText } from "./scrub-output.js";
export { REDACTED, type ScrubTextOptions, scrubJsonLine, scrubText } from "./scrub-text.js";
export { CIRCULAR, describeBinary, scrubFields, scrubSecrets, TRUNCATED } from "./scrub-value.js";
