-- The pipeline's steps on one conversation's list (its inbox, or its outbox),
-- each atomic. Order comes from the list's lock: one holder at a time drains it,
-- and releases it only when the list is empty, in the same step that finds it so.
--
-- KEYS[1] lock, KEYS[2] list, KEYS[3] pending set (pid -> time of last progress),
-- KEYS[4 .. 3+n] keys read along with an item (GET: the conversation's state...)
-- ARGV[1] step ('accept', 'take', 'apply', 'renew' or 'release'), ARGV[2] pid, ARGV[3] now (s),
-- ARGV[4] lock TTL ms, ARGV[5] n, ARGV[6] our lock token ('' to take nothing)
--
-- accept: store an inbound message once, and take the conversation if it is free.
--   KEYS[4+n] the ids of her messages seen lately (sorted set id -> time; ''
--   for no dedup check), KEYS[5+n] her data key; ARGV[7] the message, sealed with
--   the data key ARGV[10] (stored if she has none), ARGV[8] its dedup id, ARGV[9]
--   retention s, ARGV[11] how long an id is remembered (s), ARGV[12] how many at
--   most. Returns {0} a duplicate, {1} stored, {2, head, {values}} stored
--   and taken (head: the oldest item, ours or one stored before), {3, data key}
--   nothing done: the message must be sealed with this key instead.
-- take: Returns {0} busy, {1} nothing to do (the conversation is no longer
--   pending), {2, head, {values}} taken.
-- renew: a live holder's lease: the lock lives another TTL if it is still ours.
--   Returns {1} renewed, {0} not ours any more.
-- release: a holder stopping before the list is empty (shutting down, or a console
--   change made under the lock): the lock goes if it is still ours, and the
--   conversation, if pending, is marked stale so that the next sweep takes it.
--   Returns {1} released, {0} not ours.
-- apply: apply the writes of the item just handled, only while we still hold the
--   lock (fencing: a holder whose lock expired writes nothing), and only while the
--   guard key exists (else the conversation was erased meanwhile: skipped); then
--   hand back the next item, or release. Optionally take another list too (the
--   outbox the writes just filled), laid out after ours: KEYS[4+n] lock,
--   KEYS[5+n] list, KEYS[6+n] pending, KEYS[7+n .. 6+n+m] reads.
--   ARGV[7] JSON list of commands [[name, args...], ...] (an argument {"b": i}
--   stands for ARGV[i]: bytes JSON cannot carry, from ARGV[11] on) (Redis commands, and
--   ['CAP', list, keep, counter]: keep the newest items; ['DELMEMBERS', set]:
--   delete the keys the set names; ['DELIFEMPTY', key, list]: delete the key
--   unless the list has items), ARGV[8] guard key ('' for
--   none), ARGV[9] m, ARGV[10] token for the other list ('' for none).
--   Returns {0} lock lost (nothing written); {1, false, {}, skipped, other}
--   released; {2, next item, {values}, skipped, other}; other is the other list's
--   take result ({0} when not asked).

local step, pid, now, ttl = ARGV[1], ARGV[2], ARGV[3], ARGV[4]

local function read_along(first, count)
  local values = {}
  for i = first, first + count - 1 do
    values[#values + 1] = redis.call('GET', KEYS[i])
  end
  return values
end

-- The list whose lock is KEYS[at] is empty: free its lock, it is no longer pending.
local function done(at)
  redis.call('DEL', KEYS[at])
  redis.call('ZREM', KEYS[at + 2], pid)
end

-- Take the list whose lock is KEYS[at] (its list, pending set and reads follow).
local function take(at, count, token)
  if token == '' or not redis.call('SET', KEYS[at], token, 'NX', 'PX', ttl) then
    return {0}
  end
  local head = redis.call('LINDEX', KEYS[at + 1], 0)
  if not head then
    done(at)
    return {1}
  end
  redis.call('ZADD', KEYS[at + 2], now, pid)
  return {2, head, read_along(at + 3, count)}
end

local n = tonumber(ARGV[5])

if step == 'take' then
  return take(1, n, ARGV[6])
end

if step == 'renew' or step == 'release' then
  if redis.call('GET', KEYS[1]) ~= ARGV[6] then
    return {0}
  end
  if step == 'renew' then
    redis.call('PEXPIRE', KEYS[1], ttl)
  else
    redis.call('DEL', KEYS[1])
    redis.call('ZADD', KEYS[3], 'XX', 0, pid)
  end
  return {1}
end

if step == 'accept' then
  local data_key = redis.call('GET', KEYS[5 + n])
  if not data_key then
    redis.call('SET', KEYS[5 + n], ARGV[10], 'EX', ARGV[9])
  elseif data_key ~= ARGV[10] then
    return {3, data_key}
  else
    redis.call('EXPIRE', KEYS[5 + n], ARGV[9])
  end
  local seen = KEYS[4 + n]
  if seen ~= '' then
    redis.call('ZREMRANGEBYSCORE', seen, '-inf', '(' .. (tonumber(now) - tonumber(ARGV[11])))
    if redis.call('ZSCORE', seen, ARGV[8]) then
      return {0}
    end
    redis.call('ZADD', seen, math.floor(tonumber(now)), ARGV[8])  -- whole seconds: smaller
    local keep = tonumber(ARGV[12])
    if redis.call('ZCARD', seen) > keep then
      redis.call('ZREMRANGEBYRANK', seen, 0, -keep - 1)
    end
    redis.call('EXPIRE', seen, ARGV[9])
  end
  redis.call('RPUSH', KEYS[2], ARGV[7])
  redis.call('EXPIRE', KEYS[2], ARGV[9])
  local taken = take(1, n, ARGV[6])
  if taken[1] == 2 then
    return taken
  end
  -- NX: while a holder drains the inbox, the score is its own last progress
  redis.call('ZADD', KEYS[3], 'NX', now, pid)
  return {1}
end

-- apply
if redis.call('GET', KEYS[1]) ~= ARGV[6] then
  return {0}
end
local skipped = 0
if ARGV[8] ~= '' and redis.call('EXISTS', ARGV[8]) == 0 then
  skipped = 1
else
  for _, command in ipairs(cjson.decode(ARGV[7])) do
    for i, part in ipairs(command) do
      if type(part) == 'table' then
        command[i] = ARGV[part.b]
      end
    end
    if command[1] == 'DELMEMBERS' then
      -- DELMEMBERS set: delete every key the set names (her traces, at a safe exit)
      for _, key in ipairs(redis.call('SMEMBERS', command[2])) do
        redis.call('DEL', key)
      end
    elseif command[1] == 'DELIFEMPTY' then
      if redis.call('LLEN', command[3]) == 0 then
        redis.call('DEL', command[2])
      end
    elseif command[1] == 'CAP' then
      -- CAP list keep counter: keep the newest `keep` items, counting those dropped
      local drop = redis.call('LLEN', command[2]) - tonumber(command[3])
      if drop > 0 then
        redis.call('LTRIM', command[2], drop, -1)
        redis.call('INCRBY', command[4], drop)
      end
    else
      redis.call(unpack(command))
    end
  end
end
local other = {0}
if ARGV[10] ~= '' then
  other = take(4 + n, tonumber(ARGV[9]), ARGV[10])
end
local head = redis.call('LINDEX', KEYS[2], 0)
if not head then
  done(1)
  return {1, false, {}, skipped, other}
end
-- Still ours (a safe exit's commands may have deleted the lock: nobody else
-- could take it inside this script).
redis.call('SET', KEYS[1], ARGV[6], 'PX', ttl)
redis.call('ZADD', KEYS[3], now, pid)
return {2, head, read_along(4, n), skipped, other}
