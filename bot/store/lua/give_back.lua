-- Undo one try on every counter in KEYS (a try that turned out legitimate):
-- down by one, never below 0, and a counter whose window ended stays gone.
for _, key in ipairs(KEYS) do
  if tonumber(redis.call('GET', key) or '0') > 0 then
    redis.call('DECR', key)
  end
end
return 0
