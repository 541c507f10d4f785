-- The nearest directory entries that pass the filters (bot/shelters.py, Directory.near).
--
-- KEYS[1] meta hash, KEYS[2] GEO set, KEYS[3] tags hash, KEYS[4] data hash: one generation.
-- ARGV[1] longitude, ARGV[2] latitude, ARGV[3] how many,
-- ARGV[4] kinds (space-separated; any of them), ARGV[5] services (all of them),
-- ARGV[6] languages (any of them), ARGV[7..] radii in km, smallest first.
--
-- Searches the smallest circle first and widens it until it holds enough
-- matches. Returns {"ok", radius, id, distance_km, json, id, distance_km, json, ...}
-- nearest first, or {"gone"} when an import deleted this generation meanwhile.
-- Reads only: nothing about the point searched is written.

if redis.call('EXISTS', KEYS[1]) == 0 then
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

local kinds, services, languages = needles(ARGV[4], ''), needles(ARGV[5], ''), needles(ARGV[6], 'lang:')

local function any_of(tags, wanted)
  if #wanted == 0 then return true end
  for _, needle in ipairs(wanted) do
    if string.find(tags, needle, 1, true) then return true end
  end
  return false
end

local function passes(tags)
  if not any_of(tags, kinds) or not any_of(tags, languages) then return false end
  for _, needle in ipairs(services) do
    if not string.find(tags, needle, 1, true) then return false end
  end
  return true
end

local found, radius = {}, ARGV[7]
for i = 7, #ARGV do
  radius = ARGV[i]
  found = {}
  local hits = redis.call('GEOSEARCH', KEYS[2], 'FROMLONLAT', lon, lat, 'BYRADIUS', radius, 'km', 'ASC', 'WITHDIST')
  for _, hit in ipairs(hits) do
    local tags = redis.call('HGET', KEYS[3], hit[1])
    if tags and passes(tags) then
      found[#found + 1] = hit
      if #found >= limit then break end
    end
  end
  if #found >= limit then break end
end

local out = {'ok', radius}
for _, hit in ipairs(found) do
  out[#out + 1] = hit[1]
  out[#out + 1] = hit[2]
  out[#out + 1] = redis.call('HGET', KEYS[4], hit[1])
end
return out
