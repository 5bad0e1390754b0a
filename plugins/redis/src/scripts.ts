/**
 * Lua scripts behind the Redis `AtomicStore`. Each runs atomically on the server, so a
 * reservation is checked and applied with no other client in between, whatever the number of
 * gateway instances.
 *
 * Counter values are stored as text in `%.17g`, which reads back as the very same IEEE double:
 * Lua numbers are doubles, like JavaScript's, so a sum here equals the sum the in-memory store
 * computes.
 *
 * Charges are passed as four ARGV entries each: amount, limit (`''` = no limit), expireAt
 * (epoch ms, `''` = none), windowMs (`''` = none). A new counter gets its expiry from its first
 * charge; later charges keep it (`KEEPTTL`).
 */

const APPLY = `
local function fmt(value)
  return string.format('%.17g', value)
end
local function apply(key, amount, expireAt, windowMs)
  local current = redis.call('GET', key)
  if current then
    local value = tonumber(current) + amount
    redis.call('SET', key, fmt(value), 'KEEPTTL')
    return value
  end
  redis.call('SET', key, fmt(amount))
  if expireAt ~= '' then
    redis.call('PEXPIREAT', key, expireAt)
  elseif windowMs ~= '' then
    redis.call('PEXPIRE', key, windowMs)
  end
  return amount
end
`

/** All charges or none: `{1, values...}` or `{0, index, value, resetInMs}` (index 0-based). */
export const RESERVE = `${APPLY}
local pending = {}
for i = 1, #KEYS do
  local key = KEYS[i]
  local base = (i - 1) * 4
  local current = pending[key]
  if current == nil then current = tonumber(redis.call('GET', key) or '0') end
  local nextValue = current + tonumber(ARGV[base + 1])
  local limit = ARGV[base + 2]
  if limit ~= '' and nextValue > tonumber(limit) then
    local ttl = redis.call('PTTL', key)
    if ttl < 0 then ttl = 0 end
    return {0, i - 1, fmt(tonumber(redis.call('GET', key) or '0')), ttl}
  end
  pending[key] = nextValue
end
local final = {}
for i = 1, #KEYS do
  local base = (i - 1) * 4
  final[KEYS[i]] = apply(KEYS[i], tonumber(ARGV[base + 1]), ARGV[base + 3], ARGV[base + 4])
end
local out = {1}
for i = 1, #KEYS do out[i + 1] = fmt(final[KEYS[i]]) end
return out
`

/** Adds every charge with no limit check. */
export const ADD = `${APPLY}
for i = 1, #KEYS do
  local base = (i - 1) * 4
  apply(KEYS[i], tonumber(ARGV[base + 1]), ARGV[base + 3], ARGV[base + 4])
end
return 1
`

/** `{value, pttl}` per key (value '0' and pttl 0 when missing). */
export const GET = `
local out = {}
for i = 1, #KEYS do
  local value = redis.call('GET', KEYS[i]) or '0'
  local ttl = redis.call('PTTL', KEYS[i])
  if ttl < 0 then ttl = 0 end
  out[#out + 1] = value
  out[#out + 1] = ttl
end
return out
`

/** A lease: taken when free or already ours (renewed). ARGV: owner, ttlMs. */
export const CLAIM = `
local current = redis.call('GET', KEYS[1])
if (not current) or current == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
`

/** Gives a lease back when ARGV[1] owns it. */
export const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
`
