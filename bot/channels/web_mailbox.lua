-- A web chat session's mailbox: the replies the page reads by long polling.
-- KEYS[1] the mailbox list, KEYS[2] how many items were dropped from its head
-- (so that the page's `after` stays an absolute position), KEYS[3] her data key.
-- push: ARGV 'push', item, keep, ttl (s) -> appends, keeps the newest `keep` items
-- read: ARGV 'read', after -> {dropped, items from absolute position `after` on,
--   the data key they are sealed with}
if ARGV[1] == 'push' then
  local length = redis.call('RPUSH', KEYS[1], ARGV[2])
  local drop = length - tonumber(ARGV[3])
  if drop > 0 then
    redis.call('LTRIM', KEYS[1], drop, -1)
    redis.call('INCRBY', KEYS[2], drop)
  end
  redis.call('EXPIRE', KEYS[1], ARGV[4])
  if redis.call('EXISTS', KEYS[2]) == 1 then
    redis.call('EXPIRE', KEYS[2], ARGV[4])
  end
  return length
end
local dropped = tonumber(redis.call('GET', KEYS[2]) or '0')
local start = tonumber(ARGV[2]) - dropped
if start < 0 then start = 0 end
return {dropped, redis.call('LRANGE', KEYS[1], start, -1), redis.call('GET', KEYS[3]) or ''}
