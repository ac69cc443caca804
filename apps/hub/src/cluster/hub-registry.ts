import { createHmac } from "node:crypto";
import { z } from "zod";
import type { Logger } from "../logger.js";
import { type ClusterRedis, defineLuaScript, RedisUnavailable } from "./redis-client.js";

export interface HubRecord {
  hubId: string;
  peerUrl: string;
  startedAt: number;
  pid: number;
}

const hubRecordSchema = z.object({
  hubId: z.string(),
  peerUrl: z.string(),
  startedAt: z.number(),
  pid: z.number(),
});

/** A hub's secrets differ from the running cluster's; the message names the variable. */
export class ClusterSecretMismatch extends Error {
  constructor(
    readonly variable: SecretVariable,
    readonly runningHubs: string[],
  ) {
    const hubs = runningHubs.length > 0 ? runningHubs.join(", ") : "none running right now";
    super(
      `${variable} differs from the one the running hubs of this cluster use (hub ids: ${hubs}): give every hub the same ${variable}`,
    );
    this.name = "ClusterSecretMismatch";
  }
}

export interface HubRegistry {
  readonly self: HubRecord;
  /** Checks the secrets' fingerprints, writes the heartbeat and starts refreshing it. */
  start(): Promise<void>;
  /** undefined = not alive (no heartbeat within the TTL). One round trip. */
  lookup(hubId: string): Promise<HubRecord | undefined>;
  /** Every hub with a live heartbeat, this one included. One round trip. */
  liveHubs(): Promise<HubRecord[]>;
  /** Stops refreshing and deletes this hub's record, so others stop routing here at once. */
  stop(): Promise<void>;
}

export interface ClusterSecrets {
  jwtSecret: string;
  encryptionKey: Uint8Array;
  clusterSecret: string;
}

export interface HubRegistryTimings {
  /** How often the heartbeat is rewritten. */
  heartbeatMs: number;
  /** How long a heartbeat lives: a hub that stops refreshing is dead after this. */
  ttlMs: number;
  /** How long the secrets' fingerprints outlive the last hub, so a whole cluster can restart with new ones. */
  secretsTtlMs: number;
}

export const HUB_REGISTRY_TIMINGS: HubRegistryTimings = { heartbeatMs: 1_000, ttlMs: 3_000, secretsTtlMs: 60_000 };

type SecretVariable = "JWT_SECRET" | "ENCRYPTION_KEY" | "CLUSTER_SECRET";
const SECRET_FIELDS: Record<string, SecretVariable> = {
  jwt: "JWT_SECRET",
  encryption: "ENCRYPTION_KEY",
  cluster: "CLUSTER_SECRET",
};

const FINGERPRINT_CONTEXT = "private-connect cluster fingerprint v1";

/** Comparable across hubs without ever storing the secret itself. */
export function secretFingerprint(secret: string | Uint8Array): string {
  return createHmac("sha256", secret).update(FINGERPRINT_CONTEXT).digest("hex");
}

/** Where a hub's heartbeat lives; its presence is the hub's liveness (address-connections reads it too). */
export function hubRecordKeyPrefix(redis: ClusterRedis): string {
  return redis.key("hub", "");
}

/**
 * Heartbeat and secrets check in one atomic step, so two hubs starting together with different
 * secrets cannot both see an empty cluster and both write theirs.
 * KEYS: secrets hash, hub index set, own record. ARGV: record key prefix, own id, record JSON,
 * record TTL, secrets TTL, "start" | "refresh", then field/fingerprint pairs.
 * A start into a cluster with no live hub replaces stale fingerprints: the whole cluster may have
 * been restarted with new secrets. A refresh re-creates whatever a Redis restart lost.
 */
const HEARTBEAT = defineLuaScript(`
local others = {}
for _, id in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  if id ~= ARGV[2] then
    if redis.call('EXISTS', ARGV[1] .. id) == 1 then
      table.insert(others, id)
    else
      redis.call('SREM', KEYS[2], id)
    end
  end
end
local starting = ARGV[6] == 'start'
if starting and #others == 0 then redis.call('DEL', KEYS[1]) end
local mismatch = false
for i = 7, #ARGV, 2 do
  local current = redis.call('HGET', KEYS[1], ARGV[i])
  if not current then
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
  elseif current ~= ARGV[i + 1] then
    mismatch = ARGV[i]
    break
  end
end
local answer = {'ok'}
if mismatch then
  answer = {'mismatch', mismatch}
  for _, id in ipairs(others) do table.insert(answer, id) end
  if starting then return answer end
end
local previous = redis.call('GET', KEYS[3])
redis.call('SET', KEYS[3], ARGV[3], 'PX', ARGV[4])
redis.call('SADD', KEYS[2], ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[5])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
if not mismatch and not starting and previous and previous ~= ARGV[3] then answer = {'duplicate'} end
return answer
`);

/** KEYS: hub index set. ARGV: record key prefix. */
const LIVE_HUBS = defineLuaScript(`
local live = {}
for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local record = redis.call('GET', ARGV[1] .. id)
  if record then table.insert(live, record) end
end
return live
`);

/** Deletes this hub's record only if it is still this process's (not a successor's with the same HUB_ID). */
const DELETE_OWN = defineLuaScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
redis.call('SREM', KEYS[2], ARGV[2])
return 1
`);

export function createHubRegistry(
  redis: ClusterRedis,
  self: HubRecord,
  secrets: ClusterSecrets,
  log: Logger,
  timings: HubRegistryTimings = HUB_REGISTRY_TIMINGS,
): HubRegistry {
  const record = JSON.stringify(self);
  const secretsKey = redis.key("cluster", "secrets");
  const indexKey = redis.key("hubs");
  const recordPrefix = hubRecordKeyPrefix(redis);
  const ownKey = recordPrefix + self.hubId;
  const fingerprints = [
    "jwt",
    secretFingerprint(secrets.jwtSecret),
    "encryption",
    secretFingerprint(secrets.encryptionKey),
    "cluster",
    secretFingerprint(secrets.clusterSecret),
  ];
  let timer: NodeJS.Timeout | undefined;
  let stopReconnect: (() => void) | undefined;
  let beating: Promise<void> | undefined;
  let reported: string | undefined;

  const beat = (mode: "start" | "refresh") =>
    redis.run((command) =>
      HEARTBEAT.run(
        command,
        [secretsKey, indexKey, ownKey],
        [recordPrefix, self.hubId, record, timings.ttlMs, timings.secretsTtlMs, mode, ...fingerprints],
      ),
    );

  const refresh = () => {
    if (beating) return;
    beating = beat("refresh")
      .then((answer) => {
        const [outcome, field, ...others] = toStrings(answer);
        // Log each kind of trouble once, not every second.
        if (outcome === reported) return;
        reported = outcome === "ok" ? undefined : outcome;
        if (outcome === "duplicate") {
          log.error(
            { hubId: self.hubId },
            "another hub process uses this HUB_ID: give every hub its own HUB_ID, or routes to this one will go astray",
          );
        } else if (outcome === "mismatch" && field) {
          log.error({ hubId: self.hubId }, new ClusterSecretMismatch(variableFor(field), others).message);
        }
      })
      .catch((error: unknown) => {
        // An outage is logged once by the Redis client; the next beat after it re-creates everything.
        if (!(error instanceof RedisUnavailable)) log.error({ err: error }, "the hub heartbeat failed");
      })
      .finally(() => {
        beating = undefined;
      });
  };

  return {
    self,
    async start() {
      const [outcome, field, ...others] = toStrings(await beat("start"));
      if (outcome === "mismatch" && field) throw new ClusterSecretMismatch(variableFor(field), others);
      timer = setInterval(refresh, timings.heartbeatMs);
      timer.unref();
      stopReconnect = redis.onReconnect(refresh);
    },
    async lookup(hubId) {
      const value = await redis.run((command) => command.get(recordPrefix + hubId));
      return value === null ? undefined : parseRecord(value);
    },
    async liveHubs() {
      const values = toStrings(await redis.run((command) => LIVE_HUBS.run(command, [indexKey], [recordPrefix])));
      return values.map(parseRecord).filter((hub): hub is HubRecord => hub !== undefined);
    },
    async stop() {
      clearInterval(timer);
      timer = undefined;
      stopReconnect?.();
      await beating;
      try {
        await redis.run((command) => DELETE_OWN.run(command, [ownKey, indexKey], [record, self.hubId]));
      } catch (error) {
        // The record expires by itself within the TTL; stopping must not fail for it.
        log.warn({ err: error, hubId: self.hubId }, "could not delete this hub's heartbeat; it expires by itself");
      }
    },
  };
}

function variableFor(field: string): SecretVariable {
  return SECRET_FIELDS[field] ?? "CLUSTER_SECRET";
}

function toStrings(value: unknown): string[] {
  return Array.isArray(value) ? value.map(String) : [];
}

function parseRecord(value: string): HubRecord | undefined {
  try {
    const parsed = hubRecordSchema.safeParse(JSON.parse(value));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
