-- Apply the writes of one processed message atomically, only while we still hold
-- the conversation's lock (fencing: a worker whose lock expired writes nothing).
-- KEYS[1] lock; ARGV[1] our token; ARGV[2] JSON list of commands [[name, args...], ...]
-- Returns 1 applied, 0 lock lost.
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
for _, command in ipairs(cjson.decode(ARGV[2])) do
  redis.call(unpack(command))
end
return 1
