-- Take one from every counter in KEYS, or from none.
-- ARGV: most_1, window_ms_1, most_2, window_ms_2, ... (one pair per key)
-- Returns 0 when taken, else the milliseconds until the fullest counter's
-- window ends (the Retry-After). A refused attempt is not counted, so a client
-- that keeps trying is not kept out longer.
local wait = 0
for i, key in ipairs(KEYS) do
  local used = tonumber(redis.call('GET', key) or '0')
  if used >= tonumber(ARGV[2 * i - 1]) then
    local left = redis.call('PTTL', key)
    if left < 0 then left = tonumber(ARGV[2 * i]) end
    if left > wait then wait = left end
  end
end
if wait > 0 then return wait end
for i, key in ipairs(KEYS) do
  if redis.call('INCR', key) == 1 then
    redis.call('PEXPIRE', key, ARGV[2 * i])
  end
end
return 0
