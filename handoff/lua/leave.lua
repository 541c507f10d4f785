-- A handoff leaves the queue without a counsellor (she withdrew, or fell silent
-- past the reply window), but only if it still stands as expected: a claim that
-- came first wins.
-- KEYS[1] handoff hash, KEYS[2] queue, KEYS[3] waiting queue
-- ARGV[1] pid, ARGV[2] status it must have ('waiting'), ARGV[3] new status, ARGV[4] now
-- Returns 1 when it left, 0 otherwise
if redis.call('HGET', KEYS[1], 'status') ~= ARGV[2] then
  return 0
end
redis.call('HSET', KEYS[1], 'status', ARGV[3], 'closed_at', ARGV[4], 'outcome', ARGV[3])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
return 1
