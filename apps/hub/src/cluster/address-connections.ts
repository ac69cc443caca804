import type { Logger } from "../logger.js";
import { hubRecordKeyPrefix } from "./hub-registry.js";
import { type ClusterRedis, defineLuaScript } from "./redis-client.js";

export interface AddressConnections {
  /** Counts one connection of `ip` if the cluster-wide total is under `limit`. Redis down: local count only. */
  acquire(ip: string, limit: number): Promise<boolean>;
  /** Never throws; Redis learns of it now or at the next refresh. */
  release(ip: string): void;
  close(): void;
}

export interface AddressConnectionTimings {
  /** A hub's count for an address is ignored when not rewritten for this long. */
  ttlMs: number;
  /** How often the hub rewrites its non-zero counts. */
  refreshMs: number;
}

export const ADDRESS_CONNECTION_TIMINGS: AddressConnectionTimings = { ttlMs: 30_000, refreshMs: 10_000 };

/** Keys per script call in a refresh, so one call never holds Redis long. */
const REFRESH_CHUNK = 200;

/*
 * One hash per address, `P conn:<ip>`: field = hub id, value = "<count>:<fresh until, Redis
 * clock ms>". A count counts only while fresh and while its hub's heartbeat exists, so a SIGKILLed
 * hub's connections stop counting within the heartbeat TTL (3 s), not the 30 s freshness. Every
 * write carries the hub's own absolute count (not an increment): the last write sent is the hub's
 * latest state, and a refresh heals whatever an outage or a Redis restart lost.
 */
const NOW = `
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
`;

/**
 * KEYS: the address's hash. ARGV: own hub id, limit, own count including this connection, TTL,
 * hub record key prefix. Returns 1 (counted) or 0 (over the limit, nothing written).
 */
const ACQUIRE = defineLuaScript(`${NOW}
local others = 0
local fields = redis.call('HGETALL', KEYS[1])
for i = 1, #fields, 2 do
  local hub = fields[i]
  if hub ~= ARGV[1] then
    local count, fresh = string.match(fields[i + 1], '^(%d+):(%d+)$')
    if count and tonumber(fresh) > now and redis.call('EXISTS', ARGV[5] .. hub) == 1 then
      others = others + tonumber(count)
    else
      redis.call('HDEL', KEYS[1], hub)
    end
  end
end
if others + tonumber(ARGV[3]) > tonumber(ARGV[2]) then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3] .. ':' .. string.format('%.0f', now + tonumber(ARGV[4])))
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1
`);

/** KEYS: address hashes. ARGV: own hub id, TTL, then the own count per key (0 deletes the field). */
const WRITE_OWN = defineLuaScript(`${NOW}
local fresh = string.format('%.0f', now + tonumber(ARGV[2]))
for i, key in ipairs(KEYS) do
  local count = ARGV[i + 2]
  if tonumber(count) <= 0 then
    redis.call('HDEL', key, ARGV[1])
  else
    redis.call('HSET', key, ARGV[1], count .. ':' .. fresh)
    redis.call('PEXPIRE', key, ARGV[2])
  end
end
return 1
`);

export function createAddressConnections(
  redis: ClusterRedis,
  hubId: string,
  log: Logger,
  timings: AddressConnectionTimings = ADDRESS_CONNECTION_TIMINGS,
): AddressConnections {
  /** Connections of this hub per address, acquires in flight included. */
  const held = new Map<string, number>();
  /** Addresses whose last write failed: the next refresh writes them even at zero. */
  const unsynced = new Set<string>();
  const recordPrefix = hubRecordKeyPrefix(redis);
  const keyOf = (ip: string) => redis.key("conn", ip);
  let isLocalOnly = false;

  const change = (ip: string, delta: number) => {
    const count = Math.max(0, (held.get(ip) ?? 0) + delta);
    if (count === 0) held.delete(ip);
    else held.set(ip, count);
    return count;
  };

  const writeOwn = async (ips: string[]) => {
    for (let start = 0; start < ips.length; start += REFRESH_CHUNK) {
      const chunk = ips.slice(start, start + REFRESH_CHUNK);
      try {
        await redis.run((command) =>
          WRITE_OWN.run(command, chunk.map(keyOf), [hubId, timings.ttlMs, ...chunk.map((ip) => held.get(ip) ?? 0)]),
        );
        for (const ip of chunk) unsynced.delete(ip);
      } catch {
        for (const ip of chunk) unsynced.add(ip);
      }
    }
  };

  const refresh = () => {
    void writeOwn([...new Set([...held.keys(), ...unsynced])]);
  };
  const timer = setInterval(refresh, timings.refreshMs);
  timer.unref();
  const stopReconnect = redis.onReconnect(refresh);

  return {
    async acquire(ip, limit) {
      // Reserved before asking, so concurrent acquires and releases each send the latest count.
      const count = change(ip, 1);
      try {
        const counted = await redis.run((command) =>
          ACQUIRE.run(command, [keyOf(ip)], [hubId, limit, count, timings.ttlMs, recordPrefix]),
        );
        if (isLocalOnly) {
          isLocalOnly = false;
          log.info("connections per address are counted across all hubs again");
        }
        if (counted === 1) return true;
        change(ip, -1);
        // A release sent while this was in flight carried the reservation; set the count straight.
        void writeOwn([ip]);
        return false;
      } catch (error) {
        if (!isLocalOnly) {
          isLocalOnly = true;
          log.warn(
            { err: error },
            "cannot count connections per address across hubs: each hub enforces the limit on its own until Redis is back",
          );
        }
        unsynced.add(ip);
        if (count <= limit) return true;
        change(ip, -1);
        return false;
      }
    },
    release(ip) {
      if (!held.has(ip)) return;
      change(ip, -1);
      void writeOwn([ip]);
    },
    close() {
      clearInterval(timer);
      stopReconnect();
    },
  };
}
