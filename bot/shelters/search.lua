-- The nearest directory entries that pass the filters (bot/shelters/search.py, Directory.near).
--
-- KEYS[1] meta hash, KEYS[2] tags hash, KEYS[3] data hash, KEYS[4..] the GEO
-- sets of the kinds asked for: all of one generation.
-- ARGV[1] longitude, ARGV[2] latitude, ARGV[3] how many,
-- ARGV[4] services (space-separated; all of them), ARGV[5] languages (any of them),
-- ARGV[6..] radii in km, smallest first.
--
-- Searches the smallest circle first and widens it until it holds enough
-- matches. Without service or language filters each GEO set gives its nearest
-- at once (COUNT); with them, its members are checked nearest first.
-- Returns {"ok", radius, id, distance_km, json, ...} nearest first, or
-- {"gone"} when this generation was replaced (the caller reads the new one).
-- Reads only: nothing about the point searched is written.

if redis.call('EXISTS', KEYS[1]) == 0 or redis.call('HEXISTS', KEYS[1], 'retired') == 1 then
  return {'gone'}
end

local lon, lat, limit = ARGV[1], ARGV[2], tonumber(ARGV[3])

local function needles(list, prefix)
  local out = {}
  for word in string.gmatch(list, '%S+') do
    out[#out + 1] = ',' .. prefix .. word .. ','
  end
  return out
end

local services, languages = needles(ARGV[4], ''), needles(ARGV[5], 'lang:')
local filtered = #services > 0 or #languages > 0

local function passes(tags)
  for _, needle in ipairs(services) do
    if not string.find(tags, needle, 1, true) then return false end
  end
  if #languages == 0 then return true end
  for _, needle in ipairs(languages) do
    if string.find(tags, needle, 1, true) then return true end
  end
  return false
end

local function nearest(key, radius)
  if not filtered then
    return redis.call('GEOSEARCH', key, 'FROMLONLAT', lon, lat, 'BYRADIUS', radius, 'km', 'ASC', 'WITHDIST',
                      'COUNT', limit)
  end
  local found = {}
  local hits = redis.call('GEOSEARCH', key, 'FROMLONLAT', lon, lat, 'BYRADIUS', radius, 'km', 'ASC', 'WITHDIST')
  for _, hit in ipairs(hits) do
    local tags = redis.call('HGET', KEYS[2], hit[1])
    if tags and passes(tags) then
      found[#found + 1] = hit
      if #found >= limit then break end
    end
  end
  return found
end

local found, radius = {}, ARGV[6]
for i = 6, #ARGV do
  radius = ARGV[i]
  found = {}
  for k = 4, #KEYS do
    for _, hit in ipairs(nearest(KEYS[k], radius)) do
      found[#found + 1] = hit
    end
  end
  if #found >= limit then break end
end
if #KEYS > 4 then
  table.sort(found, function(a, b) return tonumber(a[2]) < tonumber(b[2]) end)
end

local out = {'ok', radius}
for j = 1, math.min(limit, #found) do
  out[#out + 1] = found[j][1]
  out[#out + 1] = found[j][2]
  out[#out + 1] = redis.call('HGET', KEYS[3], found[j][1])
end
return out
