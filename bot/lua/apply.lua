-- Apply the writes of one processed item atomically, only while we still hold the
-- conversation's lock (fencing: a holder whose lock expired writes nothing); then
-- hand back the list's next item with the keys read along, or release the lock
-- when the list is empty (atomically, so that an item pushed meanwhile is never
-- left without a holder).
-- KEYS[1] lock, KEYS[2] the list being drained, KEYS[3] pending set,
-- KEYS[4..] keys to read along with the next item (GET, after the writes)
-- ARGV[1] our token, ARGV[2] JSON list of commands [[name, args...], ...], ARGV[3] lock TTL ms,
-- ARGV[4] optional guard key: when it no longer exists (the conversation was erased
-- meanwhile), the commands are skipped; ARGV[5] pid, ARGV[6] now (s)
-- Returns {0} lock lost (nothing written); {1, '', skipped} done and released;
-- {2, next item, skipped, values...}. skipped is 1 when the guard skipped the commands.
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return {0}
end
local skipped = 0
if ARGV[4] ~= '' and redis.call('EXISTS', ARGV[4]) == 0 then
  skipped = 1
else
  for _, command in ipairs(cjson.decode(ARGV[2])) do
    redis.call(unpack(command))
  end
end
local head = redis.call('LINDEX', KEYS[2], 0)
if not head then
  redis.call('DEL', KEYS[1])
  redis.call('ZREM', KEYS[3], ARGV[5])
  return {1, '', skipped}
end
-- Still ours (a safe exit's commands may have deleted the lock: nobody else
-- could take it inside this script).
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
redis.call('ZADD', KEYS[3], ARGV[6], ARGV[5])
local reply = {2, head, skipped}
for i = 4, #KEYS do
  reply[#reply + 1] = redis.call('GET', KEYS[i])
end
return reply
