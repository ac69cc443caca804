import { type ClusterRedis, defineLuaScript } from "./redis-client.js";

/** Which hub holds an agent's relay connection; `epoch` is that connection's own random id. */
export interface AgentLocation {
  agentId: string;
  hubId: string;
  epoch: string;
  ip: string;
  /**
   * The agent process's own id from its hello (absent from older agents): a reconnect of the same
   * process keeps it, a second machine with a copied token has another.
   */
  instance?: string | undefined;
}

export interface AgentLocations {
  /** The newest connection wins: overwrites unconditionally and returns the location it replaced. */
  claim(location: AgentLocation): Promise<AgentLocation | undefined>;
  /**
   * Extends every record this hub still holds, re-creates the ones Redis lost (a restart), and
   * returns the agentIds whose record another connection has claimed since: close those as
   * replaced. One round trip for the whole batch.
   */
  refresh(entries: AgentLocation[]): Promise<string[]>;
  /**
   * Deletes the record only if it is still this connection's. Also what a router uses to forget
   * a record whose hub it found dead: the epoch check keeps a newer connection's record.
   */
  release(agentId: string, epoch: string): Promise<void>;
  locate(agentId: string): Promise<AgentLocation | undefined>;
  /** One round trip for all of them; agents without a record are absent from the map. */
  locateMany(agentIds: string[]): Promise<Map<string, AgentLocation>>;
}

export interface AgentLocationTimings {
  /** A record not refreshed for this long disappears (its hub died without releasing it). */
  ttlMs: number;
}

export const AGENT_LOCATION_TIMINGS: AgentLocationTimings = { ttlMs: 30_000 };

/** Keys per script call: a refresh of thousands of agents must not block Redis in one long script. */
const REFRESH_CHUNK = 200;

/**
 * KEYS: the agent's record. ARGV: hub, epoch, ip, at, TTL, instance. Returns the replaced hub,
 * epoch, ip, instance (nil when none).
 */
const CLAIM = defineLuaScript(`
local previous = redis.call('HMGET', KEYS[1], 'hub', 'epoch', 'ip', 'instance')
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'hub', ARGV[1], 'epoch', ARGV[2], 'ip', ARGV[3], 'at', ARGV[4], 'instance', ARGV[6])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return previous
`);

/**
 * KEYS: agent records. ARGV: TTL, at, then epoch, hub, ip, instance per key. Returns the 1-based indexes
 * of the keys another epoch holds.
 */
const REFRESH = defineLuaScript(`
local lost = {}
for i, key in ipairs(KEYS) do
  local base = 4 * i - 1
  local epoch = redis.call('HGET', key, 'epoch')
  if not epoch then
    redis.call('HSET', key, 'hub', ARGV[base + 1], 'epoch', ARGV[base], 'ip', ARGV[base + 2], 'at', ARGV[2], 'instance', ARGV[base + 3])
    redis.call('PEXPIRE', key, ARGV[1])
  elseif epoch == ARGV[base] then
    redis.call('PEXPIRE', key, ARGV[1])
  else
    table.insert(lost, i)
  end
end
return lost
`);

/** KEYS: the agent's record. ARGV: epoch. */
const RELEASE = defineLuaScript(`
if redis.call('HGET', KEYS[1], 'epoch') == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`);

export function createAgentLocations(
  redis: ClusterRedis,
  timings: AgentLocationTimings = AGENT_LOCATION_TIMINGS,
): AgentLocations {
  const keyOf = (agentId: string) => redis.key("agent", agentId);

  return {
    async claim(location) {
      const previous = await redis.run((command) =>
        CLAIM.run(
          command,
          [keyOf(location.agentId)],
          [location.hubId, location.epoch, location.ip, Date.now(), timings.ttlMs, location.instance ?? ""],
        ),
      );
      const [hub, epoch, ip, instance] = Array.isArray(previous) ? previous : [];
      return toLocation(location.agentId, { hub, epoch, ip, instance });
    },

    async refresh(entries) {
      if (entries.length === 0) return [];
      const chunks: AgentLocation[][] = [];
      for (let start = 0; start < entries.length; start += REFRESH_CHUNK) {
        chunks.push(entries.slice(start, start + REFRESH_CHUNK));
      }
      const at = Date.now();
      // Sent back to back on one connection: the chunks share one round trip.
      const answers = await redis.run((command) =>
        Promise.all(
          chunks.map((chunk) =>
            REFRESH.run(
              command,
              chunk.map((entry) => keyOf(entry.agentId)),
              [timings.ttlMs, at, ...chunk.flatMap((entry) => [entry.epoch, entry.hubId, entry.ip, entry.instance ?? ""])],
            ),
          ),
        ),
      );
      const lost: string[] = [];
      answers.forEach((answer, index) => {
        const chunk = chunks[index] ?? [];
        for (const position of Array.isArray(answer) ? answer : []) {
          const entry = chunk[Number(position) - 1];
          if (entry) lost.push(entry.agentId);
        }
      });
      return lost;
    },

    async release(agentId, epoch) {
      await redis.run((command) => RELEASE.run(command, [keyOf(agentId)], [epoch]));
    },

    async locate(agentId) {
      const fields = await redis.run((command) => command.hgetall(keyOf(agentId)));
      return toLocation(agentId, fields);
    },

    async locateMany(agentIds) {
      const unique = [...new Set(agentIds)];
      const found = new Map<string, AgentLocation>();
      if (unique.length === 0) return found;
      const results = await redis.run(async (command) => {
        const pipeline = command.pipeline();
        for (const agentId of unique) pipeline.hgetall(keyOf(agentId));
        const replies = (await pipeline.exec()) ?? [];
        return replies.map(([error, value]) => {
          if (error) throw error;
          return value;
        });
      });
      unique.forEach((agentId, index) => {
        const location = toLocation(agentId, results[index]);
        if (location) found.set(agentId, location);
      });
      return found;
    },
  };
}

function toLocation(agentId: string, fields: unknown): AgentLocation | undefined {
  if (typeof fields !== "object" || fields === null) return undefined;
  const { hub, epoch, ip, instance } = fields as Record<string, unknown>;
  if (typeof hub !== "string" || typeof epoch !== "string") return undefined;
  const location: AgentLocation = { agentId, hubId: hub, epoch, ip: typeof ip === "string" ? ip : "" };
  if (typeof instance === "string" && instance !== "") location.instance = instance;
  return location;
}
