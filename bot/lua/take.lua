-- Take a conversation's list: its lock (when free) and its first item, in one step.
-- KEYS[1] lock, KEYS[2] list; ARGV[1] our token, ARGV[2] lock TTL ms
-- Returns {0} busy (someone else holds it), {1} nothing to do (lock left free),
-- or {2, first item} (we now hold the lock).
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return {0}
end
local head = redis.call('LINDEX', KEYS[2], 0)
if not head then
  redis.call('DEL', KEYS[1])
  return {1}
end
return {2, head}
