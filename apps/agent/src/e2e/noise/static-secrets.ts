import { dh, type RawKeyPair } from "./dh25519.js";
import { RecentMap } from "./recent-map.js";

/**
 * How many peers' static-static secrets one local key remembers. An agent talks to a handful of
 * other agents; past this the oldest is recomputed when it is next needed.
 */
const REMEMBERED_PEERS = 1024;

const secretsByLocalKey = new WeakMap<RawKeyPair, RecentMap<string, Buffer>>();

/**
 * The "ss" DH of two static keys, computed once per pair of keys. It never changes between a
 * stream and the next, and it is no more secret than the static private key the process holds
 * anyway; every other DH of a handshake involves a fresh ephemeral key and is always computed.
 * The buffer returned is shared: callers only read it (MixKey hashes it).
 */
export function staticStaticSecret(local: RawKeyPair, remoteStaticPublicKey: Buffer): Buffer {
  let secrets = secretsByLocalKey.get(local);
  if (secrets === undefined) {
    secrets = new RecentMap(REMEMBERED_PEERS);
    secretsByLocalKey.set(local, secrets);
  }
  const peer = remoteStaticPublicKey.toString("base64");
  const known = secrets.get(peer);
  if (known !== undefined) return known;
  const secret = dh(local, remoteStaticPublicKey);
  secrets.set(peer, secret);
  return secret;
}
