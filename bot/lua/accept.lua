-- Store one inbound message durably, once.
-- KEYS[1] dedup marker ('' for none), KEYS[2] the conversation's inbox,
-- KEYS[3] the set of conversations with work pending (pid -> time of last progress)
-- ARGV[1] message JSON, ARGV[2] pid, ARGV[3] dedup TTL s, ARGV[4] retention TTL s, ARGV[5] now (s)
-- Returns 1 when stored, 0 when this delivery was seen before.
if KEYS[1] ~= '' then
  if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[3]) then
    return 0
  end
end
redis.call('RPUSH', KEYS[2], ARGV[1])
redis.call('EXPIRE', KEYS[2], ARGV[4])
-- NX: while a holder drains the inbox, the score is its own last progress
redis.call('ZADD', KEYS[3], 'NX', ARGV[5], ARGV[2])
return 1
