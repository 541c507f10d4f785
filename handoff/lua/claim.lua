-- Claim (or, for a supervisor, reassign) a conversation atomically: of two
-- counsellors claiming at once, exactly one wins.
-- KEYS[1] handoff hash, KEYS[2] waiting queue, KEYS[3] assigned set of the new counsellor
-- ARGV[1] pid, ARGV[2] username, ARGV[3] now, ARGV[4] '1' to take it from someone else
-- KEYS[4] recent waits (a short list of "claimed_at:seconds waited", no ids)
-- ARGV[5] key prefix of assigned sets
-- Returns {code, previous assignee, enqueued_at, '1' when she was waiting (a first claim)}:
-- code 200 claimed, 404 unknown or closed, 409 taken
local status = redis.call('HGET', KEYS[1], 'status')
if status ~= 'waiting' and status ~= 'assigned' then
  return {404, '', '', '0'}
end
local current = redis.call('HGET', KEYS[1], 'assigned_to') or ''
if current ~= '' and current ~= ARGV[2] and ARGV[4] ~= '1' then
  return {409, current, '', '0'}
end
if current ~= '' and current ~= ARGV[2] then
  redis.call('SREM', ARGV[5] .. current, ARGV[1])
end
if status == 'waiting' then
  local enqueued = tonumber(redis.call('HGET', KEYS[1], 'enqueued_at') or ARGV[3])
  redis.call('LPUSH', KEYS[4], ARGV[3] .. ':' .. math.max(0, tonumber(ARGV[3]) - enqueued))
  redis.call('LTRIM', KEYS[4], 0, 49)
end
redis.call('HSET', KEYS[1], 'status', 'assigned', 'assigned_to', ARGV[2], 'claimed_at', ARGV[3])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('SADD', KEYS[3], ARGV[1])
return {200, current, redis.call('HGET', KEYS[1], 'enqueued_at') or '', status == 'waiting' and '1' or '0'}
