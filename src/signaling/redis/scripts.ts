/**
 * The atomic steps of the Redis signaling state, as Lua scripts (run with
 * ioredis `defineCommand`, so EVALSHA with a fallback to EVAL). Every step
 * that reads and then writes shared state (id allocation, host claim, joins
 * to sealed or full lobbies, resume, leave, dead-process takeover) runs inside
 * one script, so no two server processes ever interleave inside it.
 *
 * Keys (`P` is the key prefix, default `rtcmesh:`):
 * - `P lobby:NAME`        hash: `epoch`, `mode`, `sealed` (0/1), `partial` (0/1)
 * - `P lobby:NAME:m`      hash: peer id → `a:PROC` (attached to a socket on PROC) or `d:PROC` (detached; PROC runs its grace)
 * - `P lobby:NAME:u`      set: every id used in this incarnation of the lobby (ids are never reused)
 * - `P lobbies`           set: lobby names (for the lobby limit)
 * - `P closed:EPOCH`      string with expiry: a closed lobby incarnation (its tokens must not recreate it)
 * - `P q:NAME:ID`         list with expiry: messages waiting for a detached peer (bounded)
 * - `P procs`             set: live server processes
 * - `P proc:PROC:hb`      string with a short expiry: PROC's heartbeat
 * - `P proc:PROC:peers`   set of `NAME\nID`: peers whose socket or grace PROC holds (the routing index)
 * - `P proc:PROC:addrs`   set: addresses PROC counts connections for
 * - `P addr:ADDR`         hash: PROC → open connections from ADDR
 * - channel `P ch:PROC`   PROC's one pub/sub channel: JSON `{l, i, t?, x?, p?, r?, m?}` =
 *   lobby, target ids, text to send, close `[code, reason]` after sending,
 *   probe request from peer `p`, roster `r` of a lobby of mode `m`.
 *
 * Every script takes no KEYS and the prefix as ARGV[1] (a single Redis or a
 * Sentinel-managed primary; not Redis Cluster).
 * @module
 */

const PRELUDE = `
local P = ARGV[1]
local function lkeys(name)
  local L = P .. 'lobby:' .. name
  return L, L .. ':m', L .. ':u'
end
local function qkey(name, id) return P .. 'q:' .. name .. ':' .. id end
local function pset(proc) return P .. 'proc:' .. proc .. ':peers' end
local function ref(name, id) return name .. '\\n' .. id end
local function sees(mode, a, b) return mode == 'mesh' or a == '1' or b == '1' end
local function visible(M, mode, from, includeSelf)
  local out = {}
  for _, id in ipairs(redis.call('HKEYS', M)) do
    if (id ~= from or includeSelf) and sees(mode, from, id) then table.insert(out, id) end
  end
  return out
end
-- Deliver text to ids of a lobby: one PUBLISH per process holding some of
-- them, queued (bounded) for detached ones. Returns how many queued messages
-- were dropped for overflow.
local function deliver(name, M, ids, text, qlimit, qttl, x)
  local byProc, order, dropped = {}, {}, 0
  for _, id in ipairs(ids) do
    local st = redis.call('HGET', M, id)
    if st then
      if string.sub(st, 1, 1) == 'a' then
        local proc = string.sub(st, 3)
        if not byProc[proc] then byProc[proc] = {}; table.insert(order, proc) end
        table.insert(byProc[proc], tonumber(id))
      elseif text and qlimit > 0 then
        local q = qkey(name, id)
        local n = redis.call('RPUSH', q, text)
        if n > qlimit then
          redis.call('LTRIM', q, -qlimit, -1)
          dropped = dropped + (n - qlimit)
        end
        redis.call('PEXPIRE', q, qttl)
      end
    end
  end
  for _, proc in ipairs(order) do
    local msg = { l = name, i = byProc[proc] }
    if text then msg.t = text end
    if x then msg.x = x end
    redis.call('PUBLISH', P .. 'ch:' .. proc, cjson.encode(msg))
  end
  return dropped
end
local function closeLobby(name, reason, ttl)
  local L, M, U = lkeys(name)
  local epoch = redis.call('HGET', L, 'epoch')
  local all = redis.call('HGETALL', M)
  local ids = {}
  for i = 1, #all, 2 do table.insert(ids, all[i]) end
  deliver(name, M, ids, cjson.encode({ type = 'lobby_closed', reason = reason }), 0, 0, { 1000, 'lobby closed: ' .. reason })
  for i = 1, #all, 2 do
    redis.call('SREM', pset(string.sub(all[i + 1], 3)), ref(name, all[i]))
    redis.call('DEL', qkey(name, all[i]))
  end
  redis.call('DEL', L, M, U)
  redis.call('SREM', P .. 'lobbies', name)
  if epoch then redis.call('SET', P .. 'closed:' .. epoch, '1', 'PX', ttl) end
end
`;

/** join: ARGV P, name, mode, proc, maxPeers, maxLobbies, ttl, epoch, create, qlimit, qttl, host, candidate ids…
 * → {'ok', id, epoch, mode, sealed, created, partial, others…}
 *   | {'not_found'|'server_full'|'sealed'|'full'|'retry'|'host_taken'}
 * The creator of a lobby gets id 1; `host` '1' claims id 1 in an existing lobby whose host is gone (exclusive). */
const JOIN = `
local name, mode, proc = ARGV[2], ARGV[3], ARGV[4]
local maxPeers, maxLobbies, ttl = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local epoch, create = ARGV[8], ARGV[9]
local qlimit, qttl, host = tonumber(ARGV[10]), tonumber(ARGV[11]), ARGV[12] == '1'
local L, M, U = lkeys(name)
local id, created = nil, 0
if redis.call('EXISTS', L) == 0 then
  if create ~= '1' then return { 'not_found' } end
  if redis.call('SCARD', P .. 'lobbies') >= maxLobbies then return { 'server_full' } end
  redis.call('DEL', M, U)
  redis.call('HSET', L, 'epoch', epoch, 'mode', mode, 'sealed', '0', 'partial', '0')
  redis.call('SADD', P .. 'lobbies', name)
  id = '1'
  created = 1
else
  if host and redis.call('HEXISTS', M, '1') == 1 then return { 'host_taken' } end
  if redis.call('HGET', L, 'sealed') == '1' then return { 'sealed' } end
  if redis.call('HLEN', M) >= maxPeers then return { 'full' } end
  if host then
    id = '1'
  else
    for i = 13, #ARGV do
      if redis.call('SISMEMBER', U, ARGV[i]) == 0 then id = ARGV[i]; break end
    end
  end
  if not id then return { 'retry' } end
  epoch = redis.call('HGET', L, 'epoch')
  mode = redis.call('HGET', L, 'mode')
end
redis.call('HSET', M, id, 'a:' .. proc)
redis.call('SADD', U, id)
redis.call('SADD', pset(proc), ref(name, id))
redis.call('PEXPIRE', L, ttl)
redis.call('PEXPIRE', M, ttl)
redis.call('PEXPIRE', U, ttl)
local others = visible(M, mode, id, false)
deliver(name, M, others, '{"type":"peer_joined","id":' .. id .. '}', qlimit, qttl)
local out = { 'ok', tonumber(id), epoch, mode, redis.call('HGET', L, 'sealed'), created, redis.call('HGET', L, 'partial') }
for _, o in ipairs(others) do table.insert(out, tonumber(o)) end
return out
`;

/** resume: ARGV P, name, epoch, id, mode, proc, maxPeers, maxLobbies, ttl, qlimit, qttl, announce
 * → {'ok', mode, sealed, partial, created, prev ('' | 'a:PROC' | 'd:PROC'), nQueued, queued…, others…}
 *   | {'closed'|'epoch'|'gone'|'full'|'server_full'} */
const RESUME = `
local name, epoch, id, mode, proc = ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local maxPeers, maxLobbies, ttl = tonumber(ARGV[7]), tonumber(ARGV[8]), tonumber(ARGV[9])
local qlimit, qttl, announce = tonumber(ARGV[10]), tonumber(ARGV[11]), ARGV[12] == '1'
local L, M, U = lkeys(name)
local created, prev = 0, ''
if redis.call('EXISTS', L) == 0 then
  if redis.call('EXISTS', P .. 'closed:' .. epoch) == 1 then return { 'closed' } end
  if redis.call('SCARD', P .. 'lobbies') >= maxLobbies then return { 'server_full' } end
  redis.call('DEL', M, U)
  redis.call('HSET', L, 'epoch', epoch, 'mode', mode, 'sealed', '0', 'partial', '1')
  redis.call('SADD', P .. 'lobbies', name)
  created = 1
elseif redis.call('HGET', L, 'epoch') ~= epoch then
  return { 'epoch' }
else
  prev = redis.call('HGET', M, id) or ''
  if prev == '' then
    if redis.call('SISMEMBER', U, id) == 1 or redis.call('HGET', L, 'partial') ~= '1' then return { 'gone' } end
    if redis.call('HLEN', M) >= maxPeers then return { 'full' } end
  end
  mode = redis.call('HGET', L, 'mode')
end
if prev ~= '' then
  local prevProc = string.sub(prev, 3)
  if string.sub(prev, 1, 1) == 'a' and prevProc ~= proc then
    deliver(name, M, { id }, nil, 0, 0, { 4002, 'resumed on another connection' })
  end
  redis.call('SREM', pset(prevProc), ref(name, id))
end
redis.call('HSET', M, id, 'a:' .. proc)
redis.call('SADD', U, id)
redis.call('SADD', pset(proc), ref(name, id))
redis.call('PEXPIRE', L, ttl)
redis.call('PEXPIRE', M, ttl)
redis.call('PEXPIRE', U, ttl)
local q = redis.call('LRANGE', qkey(name, id), 0, -1)
redis.call('DEL', qkey(name, id))
local others = visible(M, mode, id, false)
if announce then
  if prev == '' then
    deliver(name, M, others, '{"type":"peer_joined","id":' .. id .. '}', qlimit, qttl)
  elseif string.sub(prev, 1, 1) == 'd' then
    deliver(name, M, others, '{"type":"peer_attached","id":' .. id .. '}', qlimit, qttl)
  end
end
local out = { 'ok', mode, redis.call('HGET', L, 'sealed'), redis.call('HGET', L, 'partial'), created, prev, #q }
for _, t in ipairs(q) do table.insert(out, t) end
for _, o in ipairs(others) do table.insert(out, tonumber(o)) end
return out
`;

/** detach: ARGV P, name, id, proc, qlimit, qttl → 1 when the peer was attached on proc (now detached, announced), else 0. */
const DETACH = `
local name, id, proc = ARGV[2], ARGV[3], ARGV[4]
local L, M = lkeys(name)
if redis.call('HGET', M, id) ~= 'a:' .. proc then return 0 end
redis.call('HSET', M, id, 'd:' .. proc)
deliver(name, M, visible(M, redis.call('HGET', L, 'mode'), id, false), '{"type":"peer_detached","id":' .. id .. '}', tonumber(ARGV[5]), tonumber(ARGV[6]))
return 1
`;

/** remove: ARGV P, name, id, expected state ('a:PROC' | 'd:PROC' | '*'), closedTtl, qlimit, qttl
 * → {'left'} | {'closed', reason} | {'stale'} */
const REMOVE = `
local name, id, expected = ARGV[2], ARGV[3], ARGV[4]
local ttl, qlimit, qttl = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local L, M = lkeys(name)
local st = redis.call('HGET', M, id)
if not st or (expected ~= '*' and st ~= expected) then return { 'stale' } end
local mode = redis.call('HGET', L, 'mode')
redis.call('HDEL', M, id)
redis.call('SREM', pset(string.sub(st, 3)), ref(name, id))
redis.call('DEL', qkey(name, id))
if mode == 'client_server' and id == '1' then
  closeLobby(name, 'host left', ttl)
  return { 'closed', 'host left' }
end
if redis.call('HLEN', M) == 0 then
  closeLobby(name, 'empty', ttl)
  return { 'closed', 'empty' }
end
deliver(name, M, visible(M, mode, id, false), '{"type":"peer_left","id":' .. id .. '}', qlimit, qttl)
return { 'left' }
`;

/** relay: ARGV P, name, to, text, qlimit, qttl → 1 published, 2 queued, 3 queued with overflow, 0 never a member, -1 left. */
const RELAY = `
local name, to = ARGV[2], ARGV[3]
local L, M, U = lkeys(name)
local st = redis.call('HGET', M, to)
if not st then
  if redis.call('SISMEMBER', U, to) == 1 then return -1 end
  return 0
end
local dropped = deliver(name, M, { to }, ARGV[4], tonumber(ARGV[5]), tonumber(ARGV[6]))
if string.sub(st, 1, 1) == 'a' then return 1 end
if dropped > 0 then return 3 end
return 2
`;

/** probe: ARGV P, name, to, from → 1 probe sent to to's process, 2 detached, 0 never a member, -1 left. */
const PROBE = `
local name, to, from = ARGV[2], ARGV[3], ARGV[4]
local L, M, U = lkeys(name)
local st = redis.call('HGET', M, to)
if not st then
  if redis.call('SISMEMBER', U, to) == 1 then return -1 end
  return 0
end
if string.sub(st, 1, 1) ~= 'a' then return 2 end
redis.call('PUBLISH', P .. 'ch:' .. string.sub(st, 3), cjson.encode({ l = name, i = { tonumber(to) }, p = tonumber(from) }))
return 1
`;

/** seal: ARGV P, name, id → 1 sealed now (announced to every member), 0 already sealed, -1 no lobby, -2 not the host. */
const SEAL = `
local name, id = ARGV[2], ARGV[3]
local L, M = lkeys(name)
if redis.call('EXISTS', L) == 0 then return -1 end
if id ~= '1' then return -2 end
if redis.call('HGET', L, 'sealed') == '1' then return 0 end
redis.call('HSET', L, 'sealed', '1')
deliver(name, M, redis.call('HKEYS', M), '{"type":"sealed"}', 0, 0)
return 1
`;

/** close: ARGV P, name, epoch, reason, closedTtl → 1 closed (members told and disconnected), 0 no such incarnation. */
const CLOSE = `
local name, epoch = ARGV[2], ARGV[3]
local L = lkeys(name)
if redis.call('HGET', L, 'epoch') ~= epoch then return 0 end
closeLobby(name, ARGV[4], tonumber(ARGV[5]))
return 1
`;

/** complete: ARGV P, name, epoch → 1 when a recreated (partial) lobby's member list became authoritative (rosters sent), else 0. */
const COMPLETE = `
local name, epoch = ARGV[2], ARGV[3]
local L, M = lkeys(name)
if redis.call('HGET', L, 'epoch') ~= epoch or redis.call('HGET', L, 'partial') ~= '1' then return 0 end
redis.call('HSET', L, 'partial', '0')
local all = redis.call('HGETALL', M)
local ids, byProc, order = {}, {}, {}
for i = 1, #all, 2 do
  table.insert(ids, tonumber(all[i]))
  local st = all[i + 1]
  if string.sub(st, 1, 1) == 'a' then
    local proc = string.sub(st, 3)
    if not byProc[proc] then byProc[proc] = {}; table.insert(order, proc) end
    table.insert(byProc[proc], tonumber(all[i]))
  end
end
local mode = redis.call('HGET', L, 'mode')
for _, proc in ipairs(order) do
  redis.call('PUBLISH', P .. 'ch:' .. proc, cjson.encode({ l = name, i = byProc[proc], r = ids, m = mode }))
end
return 1
`;

/** heartbeat: ARGV P, proc, hbTtl, indexTtl → 1. */
const HEARTBEAT = `
local proc = ARGV[2]
redis.call('SET', P .. 'proc:' .. proc .. ':hb', '1', 'PX', tonumber(ARGV[3]))
redis.call('SADD', P .. 'procs', proc)
redis.call('PEXPIRE', pset(proc), tonumber(ARGV[4]))
redis.call('PEXPIRE', P .. 'proc:' .. proc .. ':addrs', tonumber(ARGV[4]))
return 1
`;

/** reap: ARGV P, me, qlimit, qttl → flat list {deadProc, name, id, was ('a'|'d'), …} of peers taken over by `me`
 * from processes whose heartbeat expired; attached ones were announced as detached. Exactly one survivor takes each. */
const REAP = `
local me, qlimit, qttl = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local out = {}
for _, p in ipairs(redis.call('SMEMBERS', P .. 'procs')) do
  if p ~= me and redis.call('EXISTS', P .. 'proc:' .. p .. ':hb') == 0 then
    redis.call('SREM', P .. 'procs', p)
    for _, r in ipairs(redis.call('SMEMBERS', pset(p))) do
      local nl = string.find(r, '\\n', 1, true)
      local name, id = string.sub(r, 1, nl - 1), string.sub(r, nl + 1)
      local L, M = lkeys(name)
      local st = redis.call('HGET', M, id)
      if st == 'a:' .. p or st == 'd:' .. p then
        redis.call('HSET', M, id, 'd:' .. me)
        redis.call('SADD', pset(me), r)
        if st == 'a:' .. p then
          deliver(name, M, visible(M, redis.call('HGET', L, 'mode'), id, false), '{"type":"peer_detached","id":' .. id .. '}', qlimit, qttl)
        end
        table.insert(out, p)
        table.insert(out, name)
        table.insert(out, tonumber(id))
        table.insert(out, string.sub(st, 1, 1))
      end
    end
    redis.call('DEL', pset(p))
    for _, a in ipairs(redis.call('SMEMBERS', P .. 'proc:' .. p .. ':addrs')) do
      redis.call('HDEL', P .. 'addr:' .. a, p)
    end
    redis.call('DEL', P .. 'proc:' .. p .. ':addrs')
  end
end
return out
`;

/** addrAcquire: ARGV P, addr, proc, max, ttl → 1 counted, 0 over the limit (max 0 = no limit). */
const ADDR_ACQUIRE = `
local addr, proc, max, ttl = ARGV[2], ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5])
local K = P .. 'addr:' .. addr
if max > 0 then
  local total = 0
  for _, v in ipairs(redis.call('HVALS', K)) do total = total + tonumber(v) end
  if total >= max then return 0 end
end
redis.call('HINCRBY', K, proc, 1)
redis.call('PEXPIRE', K, ttl)
redis.call('SADD', P .. 'proc:' .. proc .. ':addrs', addr)
return 1
`;

/** addrRelease: ARGV P, addr, proc → connections still counted for addr on proc. */
const ADDR_RELEASE = `
local addr, proc = ARGV[2], ARGV[3]
local K = P .. 'addr:' .. addr
local n = redis.call('HINCRBY', K, proc, -1)
if n <= 0 then
  redis.call('HDEL', K, proc)
  redis.call('SREM', P .. 'proc:' .. proc .. ':addrs', addr)
  n = 0
end
return n
`;

/** The scripts by ioredis command name. */
export const REDIS_SCRIPTS = {
  rtcJoin: JOIN,
  rtcResume: RESUME,
  rtcDetach: DETACH,
  rtcRemove: REMOVE,
  rtcRelay: RELAY,
  rtcProbe: PROBE,
  rtcSeal: SEAL,
  rtcClose: CLOSE,
  rtcComplete: COMPLETE,
  rtcHeartbeat: HEARTBEAT,
  rtcReap: REAP,
  rtcAddrAcquire: ADDR_ACQUIRE,
  rtcAddrRelease: ADDR_RELEASE,
} as const;

/** Name of one script command. */
export type RedisScriptName = keyof typeof REDIS_SCRIPTS;

/** Full Lua source of a script (prelude + body). */
export function scriptSource(name: RedisScriptName): string {
  return PRELUDE + REDIS_SCRIPTS[name];
}
