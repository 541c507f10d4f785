-- When the longest-waiting handoff was queued: the smallest enqueued_at among
-- the waiting set's members, read inside Redis (10,000 entries in a few ms).
-- KEYS[1] the waiting set; ARGV[1], ARGV[2] what goes before and after a member
-- to make its handoff key (keys.handoff). Returns the stored time, or false.
-- The stored text is returned as it is (a Lua number would lose digits).
local oldest, text = nil, false
for _, pid in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local raw = redis.call('HGET', ARGV[1] .. pid .. ARGV[2], 'enqueued_at')
  local at = tonumber(raw)
  if at and (oldest == nil or at < oldest) then oldest, text = at, raw end
end
return text
