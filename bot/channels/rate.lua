-- One send against a rate shared by every process: a counter per time window.
-- KEYS[1] the window's counter; ARGV[1] its lifetime ms (a little over the window)
-- Returns how many sends the window has had, this one included.
local count = redis.call('INCR', KEYS[1])
if count == 1 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
return count
