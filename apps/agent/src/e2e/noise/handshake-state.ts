import type { CipherState } from "./cipher-state.js";
import { DH_LENGTH, dh, keyPairOf, type RawKeyPair } from "./dh25519.js";
import { type EphemeralKeySource, freshEphemeralKeys } from "./ephemeral-keys.js";
import { type MessageToken, needsLocalStatic, needsRemoteStaticBeforehand } from "./handshake-patterns.js";
import { AEAD_TAG_LENGTH, MAX_NOISE_MESSAGE_LENGTH } from "./limits.js";
import { isNoiseError, NoiseError } from "./noise-error.js";
import { type NoiseProtocol, parseProtocolName } from "./protocol-name.js";
import { staticStaticSecret } from "./static-secrets.js";
import { SymmetricState } from "./symmetric-state.js";

const EMPTY = Buffer.alloc(0);

export interface HandshakeOptions {
  /** E.g. "Noise_IK_25519_AESGCM_SHA256". */
  protocolName: string;
  initiator: boolean;
  /** Bytes both sides must agree on; a mismatch makes the handshake fail. Empty when omitted. */
  prologue?: Uint8Array;
  /**
   * This side's X25519 static key (s), when the pattern uses one: the raw private key, or the
   * pair keyPairOf made from it once, which spares every handshake deriving it again.
   */
  localStaticPrivateKey?: Uint8Array | RawKeyPair;
  /** The peer's raw static public key (rs), when the pattern has the peer's key known beforehand. */
  remoteStaticPublicKey?: Uint8Array;
  /** Where fresh ephemeral keys come from (an EphemeralKeyPool makes them ahead); made on the spot when omitted. */
  ephemeralKeys?: EphemeralKeySource;
  /**
   * A fixed ephemeral private key instead of a fresh random one. Only for reproducing published
   * test vectors: reusing an ephemeral key destroys the handshake's security.
   */
  fixedEphemeralPrivateKey?: Uint8Array;
}

/** The transport CipherStates of a completed handshake, oriented for this side. */
export interface TransportCiphers {
  send: CipherState;
  receive: CipherState;
}

type Phase = "handshaking" | "complete" | "split" | "failed";

/**
 * A Noise HandshakeState (spec section 5.3) for the interactive patterns, over 25519 with
 * ChaChaPoly or AESGCM and SHA256 or BLAKE2b. Any failure (a message of the wrong length, a
 * failed decryption, a bad key) leaves the handshake failed for good: Noise states cannot be
 * rolled back, so the caller starts over.
 */
export class HandshakeState {
  readonly #protocol: NoiseProtocol;
  readonly #initiator: boolean;
  readonly #symmetric: SymmetricState;
  readonly #localStatic: RawKeyPair | undefined;
  #localEphemeral: RawKeyPair | undefined;
  #ephemeralCreated = false;
  readonly #fixedEphemeralPrivateKey: Buffer | undefined;
  readonly #ephemeralKeys: EphemeralKeySource;
  #remoteStatic: Buffer | undefined;
  #remoteEphemeral: Buffer | undefined;
  #messageIndex = 0;
  #phase: Phase = "handshaking";
  #transport: [CipherState, CipherState] | undefined;

  constructor(options: HandshakeOptions) {
    const protocol = parseProtocolName(options.protocolName);
    const { pattern } = protocol;
    this.#protocol = protocol;
    this.#initiator = options.initiator;
    const role = options.initiator ? "initiator" : "responder";

    if (needsLocalStatic(pattern, options.initiator)) {
      if (options.localStaticPrivateKey === undefined) {
        throw new NoiseError("INVALID_KEY", `The ${role} of ${pattern.name} needs its static private key.`);
      }
      const key = options.localStaticPrivateKey;
      this.#localStatic = key instanceof Uint8Array ? keyPairOf(key) : key;
    } else if (options.localStaticPrivateKey !== undefined) {
      throw new NoiseError("INVALID_KEY", `The ${role} of ${pattern.name} has no static key; do not pass one.`);
    }

    if (needsRemoteStaticBeforehand(pattern, options.initiator)) {
      if (options.remoteStaticPublicKey === undefined) {
        throw new NoiseError("INVALID_KEY", `The ${role} of ${pattern.name} needs the peer's static public key beforehand.`);
      }
      this.#remoteStatic = copyKey(options.remoteStaticPublicKey, "remote static public");
    } else if (options.remoteStaticPublicKey !== undefined) {
      // Accepting it would suggest the handshake checks it; in this pattern the key arrives in a
      // message instead, and the caller compares remoteStaticKey once the handshake is done.
      throw new NoiseError(
        "INVALID_KEY",
        `In ${pattern.name} the ${role} learns the peer's static key during the handshake; do not pass one.`,
      );
    }

    this.#ephemeralKeys = options.ephemeralKeys ?? freshEphemeralKeys;
    this.#fixedEphemeralPrivateKey =
      options.fixedEphemeralPrivateKey === undefined ? undefined : copyKey(options.fixedEphemeralPrivateKey, "ephemeral private");

    this.#symmetric = new SymmetricState(protocol.name, protocol.cipher, protocol.hash);
    this.#symmetric.mixHash(options.prologue ?? EMPTY);
    // Pre-messages: the initiator's known keys are hashed first, then the responder's.
    for (const token of pattern.initiatorPreMessage) this.#symmetric.mixHash(this.#preMessageKey(token, true));
    for (const token of pattern.responderPreMessage) this.#symmetric.mixHash(this.#preMessageKey(token, false));
  }

  get protocolName(): string {
    return this.#protocol.name;
  }

  get isInitiator(): boolean {
    return this.#initiator;
  }

  /** True once every handshake message has been written or read. */
  get isComplete(): boolean {
    return this.#phase === "complete" || this.#phase === "split";
  }

  /** Whether the next handshake message is this side's to write (false when complete or failed). */
  get isMyTurn(): boolean {
    return this.#phase === "handshaking" && this.#messageIndex % 2 === (this.#initiator ? 0 : 1);
  }

  /** The peer's static public key, once known (given beforehand or received). */
  get remoteStaticKey(): Buffer | undefined {
    return this.#remoteStatic === undefined ? undefined : Buffer.from(this.#remoteStatic);
  }

  /** h: after completion, a value both sides share that identifies this session (channel binding). */
  get handshakeHash(): Buffer {
    return this.#symmetric.handshakeHash;
  }

  /** Writes the next handshake message, carrying payload (encrypted once a key is established). */
  writeMessage(payload: Uint8Array = EMPTY): Buffer {
    const tokens = this.#nextTokens("write");
    const length = this.#messageLength(tokens, payload.length);
    if (length > MAX_NOISE_MESSAGE_LENGTH) {
      throw new NoiseError(
        "MESSAGE_TOO_LARGE",
        `This handshake message would be ${length} bytes; Noise allows at most ${MAX_NOISE_MESSAGE_LENGTH}.`,
      );
    }
    return this.#guard(() => {
      const parts: Buffer[] = [];
      for (const token of tokens) {
        if (token === "e") {
          const ephemeral = this.#createEphemeral();
          parts.push(ephemeral.publicKey);
          this.#symmetric.mixHash(ephemeral.publicKey);
        } else if (token === "s") {
          parts.push(this.#symmetric.encryptAndHash(this.#requireLocalStatic().publicKey));
        } else {
          this.#symmetric.mixKey(this.#dhFor(token));
        }
      }
      parts.push(this.#symmetric.encryptAndHash(payload));
      this.#finishMessage();
      return Buffer.concat(parts);
    });
  }

  /** Reads the peer's next handshake message and returns its payload. */
  readMessage(message: Uint8Array): Buffer {
    const tokens = this.#nextTokens("read");
    if (message.length > MAX_NOISE_MESSAGE_LENGTH) {
      this.#phase = "failed";
      throw new NoiseError(
        "MESSAGE_TOO_LARGE",
        `A handshake message is at most ${MAX_NOISE_MESSAGE_LENGTH} bytes, not ${message.length}.`,
      );
    }
    const minimum = this.#messageLength(tokens, 0);
    if (message.length < minimum) {
      this.#phase = "failed";
      throw new NoiseError("MALFORMED_MESSAGE", `This handshake message is at least ${minimum} bytes, not ${message.length}.`);
    }
    const bytes = Buffer.from(message);
    return this.#guard(() => {
      let offset = 0;
      const take = (length: number): Buffer => {
        const part = bytes.subarray(offset, offset + length);
        offset += length;
        return part;
      };
      for (const token of tokens) {
        if (token === "e") {
          const remoteEphemeral = Buffer.from(take(DH_LENGTH));
          this.#remoteEphemeral = remoteEphemeral;
          this.#symmetric.mixHash(remoteEphemeral);
        } else if (token === "s") {
          const length = DH_LENGTH + (this.#symmetric.hasKey() ? AEAD_TAG_LENGTH : 0);
          this.#remoteStatic = this.#symmetric.decryptAndHash(take(length));
        } else {
          this.#symmetric.mixKey(this.#dhFor(token));
        }
      }
      const payload = this.#symmetric.decryptAndHash(bytes.subarray(offset));
      this.#finishMessage();
      return payload;
    });
  }

  /**
   * The transport CipherStates, oriented for this side: send encrypts what this side sends.
   * Available once the handshake is complete, and handed over once.
   */
  split(): TransportCiphers {
    if (this.#phase !== "complete" || this.#transport === undefined) {
      throw new NoiseError(
        "WRONG_STATE",
        this.#phase === "split" ? "The transport keys were already handed over." : "The handshake is not complete.",
      );
    }
    const [initiatorToResponder, responderToInitiator] = this.#transport;
    this.#transport = undefined;
    this.#phase = "split";
    return this.#initiator
      ? { send: initiatorToResponder, receive: responderToInitiator }
      : { send: responderToInitiator, receive: initiatorToResponder };
  }

  #nextTokens(direction: "write" | "read"): readonly MessageToken[] {
    if (this.#phase === "failed") throw new NoiseError("WRONG_STATE", "This handshake failed; start a new one.");
    if (this.#phase !== "handshaking") throw new NoiseError("WRONG_STATE", "The handshake is already complete.");
    if (this.isMyTurn !== (direction === "write")) {
      throw new NoiseError(
        "WRONG_STATE",
        direction === "write" ? "It is the peer's turn to send a handshake message." : "It is this side's turn to send.",
      );
    }
    const tokens = this.#protocol.pattern.messages[this.#messageIndex];
    if (tokens === undefined) throw new NoiseError("WRONG_STATE", "The handshake is already complete.");
    return tokens;
  }

  /** The length of a message made of these tokens and a payload, given the keys at this point. */
  #messageLength(tokens: readonly MessageToken[], payloadLength: number): number {
    let hasKey = this.#symmetric.hasKey();
    let length = 0;
    for (const token of tokens) {
      if (token === "e") length += DH_LENGTH;
      else if (token === "s") length += DH_LENGTH + (hasKey ? AEAD_TAG_LENGTH : 0);
      else hasKey = true;
    }
    return length + payloadLength + (hasKey ? AEAD_TAG_LENGTH : 0);
  }

  #guard<T>(step: () => T): T {
    try {
      return step();
    } catch (error) {
      this.#phase = "failed";
      this.#forgetEphemeral();
      if (isNoiseError(error)) throw error;
      throw new NoiseError("DECRYPTION_FAILED", "The handshake message could not be processed.", { cause: error });
    }
  }

  #finishMessage(): void {
    this.#messageIndex += 1;
    if (this.#messageIndex === this.#protocol.pattern.messages.length) {
      this.#transport = this.#symmetric.split();
      this.#phase = "complete";
      this.#forgetEphemeral();
    }
  }

  /**
   * The ephemeral private key is not needed once the handshake is over, and forward secrecy wants
   * it gone: the raw bytes are wiped, and dropping the pair lets OpenSSL free its KeyObject (node
   * cannot wipe one on demand).
   */
  #forgetEphemeral(): void {
    this.#localEphemeral?.privateKey.fill(0);
    this.#localEphemeral = undefined;
  }

  #createEphemeral(): RawKeyPair {
    if (this.#ephemeralCreated) throw new NoiseError("WRONG_STATE", "The ephemeral key was already sent.");
    this.#ephemeralCreated = true;
    const fixed = this.#fixedEphemeralPrivateKey;
    this.#localEphemeral = fixed === undefined ? this.#ephemeralKeys.take() : keyPairOf(fixed);
    return this.#localEphemeral;
  }

  #requireLocalStatic(): RawKeyPair {
    if (this.#localStatic === undefined) throw new NoiseError("INVALID_KEY", "This side has no static key.");
    return this.#localStatic;
  }

  #preMessageKey(token: "e" | "s", ofInitiator: boolean): Buffer {
    if (token === "e") throw new NoiseError("UNSUPPORTED_PROTOCOL", "Ephemeral pre-messages are not supported.");
    if (ofInitiator === this.#initiator) return this.#requireLocalStatic().publicKey;
    if (this.#remoteStatic === undefined) throw new NoiseError("INVALID_KEY", "The peer's static public key is missing.");
    return this.#remoteStatic;
  }

  /** The DH a token calls for, from this side's point of view (spec section 5.3). */
  #dhFor(token: "ee" | "es" | "se" | "ss"): Buffer {
    // In "es" the initiator contributes e and the responder s; "se" is the reverse.
    const initiatorKey = token[0] === "e" ? "e" : "s";
    const responderKey = token[1] === "e" ? "e" : "s";
    const localKind = this.#initiator ? initiatorKey : responderKey;
    const remoteKind = this.#initiator ? responderKey : initiatorKey;
    const local = localKind === "e" ? this.#localEphemeral : this.#localStatic;
    const remotePublic = remoteKind === "e" ? this.#remoteEphemeral : this.#remoteStatic;
    if (local === undefined || remotePublic === undefined) {
      throw new NoiseError("INVALID_KEY", `The keys for "${token}" are not available at this point of the handshake.`);
    }
    return token === "ss" ? staticStaticSecret(local, remotePublic) : dh(local, remotePublic);
  }
}

function copyKey(key: Uint8Array, what: string): Buffer {
  if (key.length !== DH_LENGTH)
    throw new NoiseError("INVALID_KEY", `An X25519 ${what} key is ${DH_LENGTH} bytes, not ${key.length}.`);
  return Buffer.from(key);
}
