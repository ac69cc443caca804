/**
 * The twelve fundamental interactive handshake patterns of the Noise spec (section 7.4), as
 * data. Messages alternate, the initiator sending the first. The one-way patterns (N, K, X),
 * deferred patterns and psk modifiers are not implemented.
 */
export type PreMessageToken = "e" | "s";
export type MessageToken = "e" | "s" | "ee" | "es" | "se" | "ss";

export interface HandshakePattern {
  readonly name: string;
  /** Public keys the responder already knows of the initiator (hashed before the first message). */
  readonly initiatorPreMessage: readonly PreMessageToken[];
  /** Public keys the initiator already knows of the responder. */
  readonly responderPreMessage: readonly PreMessageToken[];
  readonly messages: readonly (readonly MessageToken[])[];
}

function pattern(
  name: string,
  initiatorPreMessage: readonly PreMessageToken[],
  responderPreMessage: readonly PreMessageToken[],
  messages: readonly (readonly MessageToken[])[],
): HandshakePattern {
  return { name, initiatorPreMessage, responderPreMessage, messages };
}

export const HANDSHAKE_PATTERNS: Readonly<Record<string, HandshakePattern>> = {
  NN: pattern("NN", [], [], [["e"], ["e", "ee"]]),
  NK: pattern(
    "NK",
    [],
    ["s"],
    [
      ["e", "es"],
      ["e", "ee"],
    ],
  ),
  NX: pattern("NX", [], [], [["e"], ["e", "ee", "s", "es"]]),
  KN: pattern("KN", ["s"], [], [["e"], ["e", "ee", "se"]]),
  KK: pattern(
    "KK",
    ["s"],
    ["s"],
    [
      ["e", "es", "ss"],
      ["e", "ee", "se"],
    ],
  ),
  KX: pattern("KX", ["s"], [], [["e"], ["e", "ee", "se", "s", "es"]]),
  XN: pattern("XN", [], [], [["e"], ["e", "ee"], ["s", "se"]]),
  XK: pattern(
    "XK",
    [],
    ["s"],
    [
      ["e", "es"],
      ["e", "ee"],
      ["s", "se"],
    ],
  ),
  XX: pattern("XX", [], [], [["e"], ["e", "ee", "s", "es"], ["s", "se"]]),
  IN: pattern(
    "IN",
    [],
    [],
    [
      ["e", "s"],
      ["e", "ee", "se"],
    ],
  ),
  IK: pattern(
    "IK",
    [],
    ["s"],
    [
      ["e", "es", "s", "ss"],
      ["e", "ee", "se"],
    ],
  ),
  IX: pattern(
    "IX",
    [],
    [],
    [
      ["e", "s"],
      ["e", "ee", "se", "s", "es"],
    ],
  ),
};

/** Whether a side must hold a static key pair: it sends one, or the peer knows it beforehand. */
export function needsLocalStatic(pattern: HandshakePattern, initiator: boolean): boolean {
  const preMessage = initiator ? pattern.initiatorPreMessage : pattern.responderPreMessage;
  const sent = pattern.messages.some((tokens, index) => index % 2 === (initiator ? 0 : 1) && tokens.includes("s"));
  return sent || preMessage.includes("s");
}

/** Whether a side must be given the peer's static public key before the handshake. */
export function needsRemoteStaticBeforehand(pattern: HandshakePattern, initiator: boolean): boolean {
  return (initiator ? pattern.responderPreMessage : pattern.initiatorPreMessage).includes("s");
}
