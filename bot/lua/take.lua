-- Take a conversation's list: its lock (when free), its first item and the
-- values of the keys read along with it (the conversation's state...), in one step.
-- KEYS[1] lock, KEYS[2] list, KEYS[3] pending set (pid -> time of last progress),
-- KEYS[4..] keys to read along (GET)
-- ARGV[1] our token, ARGV[2] lock TTL ms, ARGV[3] pid, ARGV[4] now (s)
-- Returns {0} busy (someone else holds it), {1} nothing to do (lock left free, the
-- conversation no longer pending), or {2, first item, values...} (we now hold the lock).
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return {0}
end
local head = redis.call('LINDEX', KEYS[2], 0)
if not head then
  redis.call('DEL', KEYS[1])
  redis.call('ZREM', KEYS[3], ARGV[3])
  return {1}
end
redis.call('ZADD', KEYS[3], ARGV[4], ARGV[3])
local reply = {2, head}
for i = 4, #KEYS do
  reply[#reply + 1] = redis.call('GET', KEYS[i])
end
return reply
