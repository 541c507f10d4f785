-- Put a conversation in the counsellor queue, or raise its urgency if it is there.
-- KEYS[1] handoff hash, KEYS[2] queue (all open), KEYS[3] waiting queue
-- ARGV[1] score, ARGV[2] severity, ARGV[3] category, ARGV[4] reason, ARGV[5] channel,
-- ARGV[6] language, ARGV[7] now, ARGV[8] retention s, ARGV[9] pid
-- Returns {new (1|0), score in force}
local status = redis.call('HGET', KEYS[1], 'status')
if status == 'waiting' or status == 'assigned' then
  redis.call('HSET', KEYS[1], 'last_message_at', ARGV[7])
  local old = tonumber(redis.call('HGET', KEYS[1], 'score'))
  if tonumber(ARGV[1]) < old then
    redis.call('HSET', KEYS[1], 'score', ARGV[1], 'severity', ARGV[2], 'category', ARGV[3])
    redis.call('ZADD', KEYS[2], ARGV[1], ARGV[9])
    if status == 'waiting' then redis.call('ZADD', KEYS[3], ARGV[1], ARGV[9]) end
    return {0, ARGV[1]}
  end
  return {0, tostring(old)}
end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'status', 'waiting', 'score', ARGV[1], 'severity', ARGV[2],
  'category', ARGV[3], 'reason', ARGV[4], 'channel', ARGV[5], 'language', ARGV[6],
  'enqueued_at', ARGV[7], 'last_message_at', ARGV[7], 'assigned_to', '')
redis.call('EXPIRE', KEYS[1], ARGV[8])
redis.call('ZADD', KEYS[2], ARGV[1], ARGV[9])
redis.call('ZADD', KEYS[3], ARGV[1], ARGV[9])
return {1, ARGV[1]}
