/** Lua helpers shared by the scripts: Redis's own clock in ms, and stream-id order ("ms-seq"). */
const COMMON = `
local function nowMs()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function before(a, b)
  local am, as = string.match(a, '^(%d+)-(%d+)$')
  local bm, bs = string.match(b, '^(%d+)-(%d+)$')
  am, as, bm, bs = tonumber(am), tonumber(as), tonumber(bm), tonumber(bs)
  return am < bm or (am == bm and as < bs)
end
`;

/**
 * RENEW (KEYS: members, acks, epoch, ack feed; ARGV: instance id, applied stream id, epoch, lease ms).
 * Refuses (-1) when the epoch is not the one the instance joined under (Redis lost its data, or the
 * denylist was rebuilt): the instance must join again. Otherwise renews the lease on Redis's clock,
 * records the acknowledgement (announcing it on the ack feed when it moved on, which wakes the
 * revocations waiting for it), drops members dead for a minute, and answers 1 when the lease was
 * still running before this renewal (membership continuous), 0 when it had lapsed or is new.
 */
export const RENEW = `${COMMON}
if redis.call('GET', KEYS[3]) ~= ARGV[3] then return -1 end
local now = nowMs()
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
local live = score and tonumber(score) > now
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[4]), ARGV[1])
local prev = redis.call('HGET', KEYS[2], ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
if ARGV[2] ~= '0-0' and (not prev or before(prev, ARGV[2])) then
  redis.call('XADD', KEYS[4], 'MAXLEN', '~', 1000, '*', 'i', ARGV[1])
end
local dead = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now - 60000)
for _, m in ipairs(dead) do redis.call('HDEL', KEYS[2], m) end
if #dead > 0 then redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - 60000) end
if live then return 1 end
return 0`;

/**
 * `[ack feed tail, ms until the first pending lease lapses (-1: none pending), ...pending ids]`: the
 * live members (KEYS[1]) but `self` whose ack (KEYS[2]) is before stream id `id`.
 */
const PENDING_OF = `
local function pendingOf(id, self)
  local now = nowMs()
  local live = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. now, '+inf', 'WITHSCORES')
  local out = {'0-0', -1}
  local last = redis.call('XREVRANGE', KEYS[4], '+', '-', 'COUNT', 1)
  if last[1] then out[1] = last[1][1] end
  for i = 1, #live, 2 do
    local m = live[i]
    if m ~= self then
      local a = redis.call('HGET', KEYS[2], m)
      if not a or before(a, id) then
        table.insert(out, m)
        local left = tonumber(live[i + 1]) - now
        if out[2] == -1 or left < out[2] then out[2] = left end
      end
    end
  end
  return out
end
`;

/**
 * PENDING (KEYS: members, acks, epoch, ack feed; ARGV: stream id, own instance id). -1 when the
 * epoch is gone (Redis lost its data: nothing can be confirmed); otherwise what `pendingOf` says.
 */
export const PENDING = `${COMMON}${PENDING_OF}
if redis.call('EXISTS', KEYS[3]) == 0 then return -1 end
return pendingOf(ARGV[1], ARGV[2])`;

/**
 * APPEND (KEYS: members, acks, epoch, ack feed, feed; ARGV: own instance id, feed length, the
 * entry's records as JSON): appends the revocation to the feed (marked as this instance's) and
 * answers `[its id, ...what PENDING would]` in the same call, so that a revocation with nobody else
 * to wait for costs one round trip: `[id, -1]` when the epoch is gone.
 */
export const APPEND = `${COMMON}${PENDING_OF}
local id = redis.call('XADD', KEYS[5], 'MAXLEN', '~', ARGV[2], '*', 'r', ARGV[3], 'o', ARGV[1])
if redis.call('EXISTS', KEYS[3]) == 0 then return {id, -1} end
local out = pendingOf(id, ARGV[1])
table.insert(out, 1, id)
return out`;

/** Stream-id order ("ms-seq"), as the scripts' `before`. */
export function streamIdBefore(a: string, b: string): boolean {
  const [am, as] = a.split('-').map(Number);
  const [bm, bs] = b.split('-').map(Number);
  return am < bm || (am === bm && as < bs);
}

/** LEAVE (KEYS: members, acks; ARGV: instance id): a clean shutdown, so nobody waits for this instance. */
export const LEAVE = `redis.call('ZREM', KEYS[1], ARGV[1]) redis.call('HDEL', KEYS[2], ARGV[1]) return 1`;

/** What PENDING (and APPEND, after the entry's id) answers: the ack feed's tail, when the first pending lease lapses, and who has yet to acknowledge. */
export type Pending = [tail: string, lapseMs: number, ...pending: string[]];
/** An XREAD's answer for one stream: its entries as [id, fields]. */
export type StreamRead = [string, [string, string[]][]][] | null;
