-- One round trip: the conversation's case reference (made once, kept with the
-- conversation, only while it exists), then the entry, on the server's clock, and
-- the entries older than the retention trimmed (approximately: in whole blocks, so
-- a few may outlive it by minutes).
-- KEYS: audit stream, case key ('' for none), state key; ARGV: retention ms,
-- case made for it, then field, value, ...
local fields = {}
for i = 3, #ARGV do fields[#fields + 1] = ARGV[i] end
if KEYS[2] ~= '' then
  if redis.call('EXISTS', KEYS[3]) == 1 then
    redis.call('SET', KEYS[2], ARGV[2], 'NX', 'EX', math.floor(tonumber(ARGV[1]) / 1000))
  end
  fields[#fields + 1] = 'case'
  fields[#fields + 1] = redis.call('GET', KEYS[2]) or 'erased'
end
local id = redis.call('XADD', KEYS[1], '*', unpack(fields))
local ms = tonumber(string.match(id, '^(%d+)'))
redis.call('XTRIM', KEYS[1], 'MINID', '~', tostring(ms - tonumber(ARGV[1])))
return id
