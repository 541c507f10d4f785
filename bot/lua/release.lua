-- Release a conversation's lock only when its list is empty, atomically, so that
-- a message pushed while we were finishing is never left without a holder.
-- KEYS[1] lock, KEYS[2] the list being drained; ARGV[1] our token, ARGV[2] lock TTL ms
-- Returns 1 released, 0 the list has more (keep draining), 2 the lock is not ours.
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 2
end
if redis.call('LLEN', KEYS[2]) > 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 0
end
redis.call('DEL', KEYS[1])
return 1
