-- A counsellor's message to the person: only while the conversation is open
-- and assigned to the sender (never after a safe exit or a close).
-- KEYS[1] handoff hash, KEYS[2] transcript, KEYS[3] outbox, KEYS[4] delivery hash,
-- KEYS[5] the channel's set of outboxes pending
-- ARGV[1] username, ARGV[2] transcript entry JSON, ARGV[3] outbound JSON, ARGV[4] message id,
-- ARGV[5] pid, ARGV[6] retention s, ARGV[7] '1' if the sender is a supervisor, ARGV[8] now (s)
-- ARGV[9] reply window s
-- Returns {200, first, enqueued_at} sent (first: 1 if it is the handoff's first
-- reply, for the time-to-first-reply metric), 404 no open conversation, 403 not
-- assigned to the sender, 409 not claimed yet, 410 her last message is older than
-- the reply window (she must write first)
local status = redis.call('HGET', KEYS[1], 'status')
if status ~= 'waiting' and status ~= 'assigned' then
  return 404
end
local last = tonumber(redis.call('HGET', KEYS[1], 'last_message_at')
  or redis.call('HGET', KEYS[1], 'enqueued_at') or '0')
if tonumber(ARGV[8]) - last > tonumber(ARGV[9]) then
  return 410
end
local assigned = redis.call('HGET', KEYS[1], 'assigned_to') or ''
if assigned == '' then
  return 409
end
if assigned ~= ARGV[1] and ARGV[7] ~= '1' then
  return 403
end
redis.call('RPUSH', KEYS[2], ARGV[2])
redis.call('RPUSH', KEYS[3], ARGV[3])
redis.call('HSET', KEYS[4], ARGV[4], 'pending')
for i = 2, 4 do redis.call('EXPIRE', KEYS[i], ARGV[6]) end
redis.call('ZADD', KEYS[5], 'NX', ARGV[8], ARGV[5])
local first = redis.call('HSETNX', KEYS[1], 'first_reply_at', ARGV[8])
return {200, first, redis.call('HGET', KEYS[1], 'enqueued_at') or ''}
