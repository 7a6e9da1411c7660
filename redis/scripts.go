package redis

import "github.com/redis/rueidis"

// The store's keys, all with the hash tag {name} (one slot, as Lua needs):
//
//	{S}:meta          hash: epoch (random, made when absent and when the
//	                  server process changed), server (the run_id it was
//	                  made on), rev, machines
//	{S}:log           stream of changes; entry <rev>-0 holds the changes of
//	                  one write script up to rev: "epoch" <epoch>, then a
//	                  header "op rev created pxat owner writer key" and the
//	                  value for each change
//	{S}:k:<key>       "rev created pxat owner value"; expires at pxat+grace
//	{S}:o:<owner>     set of the data keys an owner (machine<<32|worker) holds
//	{S}:mo:<machine>  set of the owners of a machine that hold keys
//	{S}:lease:<m>     exists while machine m is alive (refreshed)
//	{S}:machines      hash of the machines registered
//	{S}:fence         counter of Load's fencing tokens
//	{S}:lock:<key>    "<machine>:<token>" of the load of key in flight

// prelude is the code every script that changes the store shares: the
// clock, the revision, and logging a change.
//
// KEYS[1] meta, KEYS[2] log; ARGV[1] prefix "{S}:", ARGV[2] log length,
// ARGV[3] an epoch to use if the store has none.
const prelude = `
local meta, log, pfx = KEYS[1], KEYS[2], ARGV[1]
local kpfx = #pfx + 3
local now = nil
local function clock()
  if not now then
    local t = redis.call('TIME')
    now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  end
  return now
end
local mv = redis.call('HMGET', meta, 'epoch', 'rev')
local epoch = mv[1]
if not epoch then
  epoch = ARGV[3]
  redis.call('HSET', meta, 'epoch', epoch)
end
local rev = tonumber(mv[2] or '0')
local start = rev
local fields = {'epoch', epoch}
local function logc(op, created, pxat, owner, writer, key, value)
  rev = rev + 1
  fields[#fields + 1] = op .. ' ' .. rev .. ' ' .. created .. ' ' .. pxat .. ' ' .. owner .. ' ' .. writer .. ' ' .. key
  fields[#fields + 1] = value
end
local function parse(v) -- the revision as a number; created, pxat and owner as they are written
  local r, c, x, o = string.match(v, '^(%d+) (%d+) (%d+) (%d+) ')
  return tonumber(r), c, x, o
end
local function own(owner, k, add)
  if owner == '0' then return end
  if add then
    redis.call('SADD', pfx .. 'o:' .. owner, k)
    redis.call('SADD', pfx .. 'mo:' .. math.floor(tonumber(owner) / 4294967296), owner)
  else
    redis.call('SREM', pfx .. 'o:' .. owner, k)
  end
end
local function dropOwner(owner)
  local set = pfx .. 'o:' .. owner
  for _, k in ipairs(redis.call('SMEMBERS', set)) do
    local cur = redis.call('GET', k)
    if cur then
      local _, _, _, o = parse(cur)
      if o == owner then
        redis.call('DEL', k)
        logc('d', 0, 0, 0, 0, string.sub(k, kpfx), '')
      end
    end
  end
  redis.call('DEL', set)
end
local function commit()
  if rev > start then
    redis.call('HSET', meta, 'rev', rev)
    redis.call('XADD', log, 'MAXLEN', '~', ARGV[2], rev .. '-0', unpack(fields))
  end
end
`

// writeScript applies a batch of writes. KEYS[2+i] is the data key of
// write i; ARGV[4] is the grace Redis keeps an expired key for; then six
// arguments per write: kind (p put, c create, u update, d delete, l a
// load's result, x expire: a machine's clock says the key at revision prev
// is past its deadline, and Redis's clock is not asked; its owner is the
// revision that machine applied), prev (the
// revision expected; for l the lock's value), pxat, owner, writer, value. It returns the epoch, then per write
// its revision (0: no change), "e<rev>" (exists), "c<rev>" (conflict) or
// "l" (the load's lock is not the writer's).
var writeScript = rueidis.NewLuaScript(prelude + `
local out = {epoch}
for i = 1, #KEYS - 2 do
  local k = KEYS[2 + i]
  local key = string.sub(k, kpfx)
  local b = 4 + (i - 1) * 6
  local kind, prevs, pxat, owner, writer, value = ARGV[b + 1], ARGV[b + 2], ARGV[b + 3], ARGV[b + 4], ARGV[b + 5], ARGV[b + 6]
  local prev = tonumber(prevs) or 0
  local cur = redis.call('GET', k)
  local crev, ccreated, cpxat, cowner = 0, 0, '0', '0'
  local expired = false
  if cur then
    crev, ccreated, cpxat, cowner = parse(cur)
    if cpxat ~= '0' and (tonumber(cpxat) <= clock() or (kind == 'x' and crev == prev)) then
      redis.call('DEL', k)
      own(cowner, k, false)
      logc('x', 0, 0, 0, 0, key, '')
      cur, crev, expired = false, 0, true
    end
  end
  if kind == 'x' then
    if not cur and not expired and start == tonumber(owner) then
      -- Gone from Redis without a change, and the caller has seen every
      -- change (owner holds the revision it applied): say so, once.
      logc('x', 0, 0, 0, 0, key, '')
    end
    out[#out + 1] = 0
  elseif kind == 'c' and cur then
    out[#out + 1] = 'e' .. crev
  elseif (kind == 'u' and (not cur or crev ~= prev)) or (kind == 'd' and prev ~= 0 and crev ~= prev) then
    out[#out + 1] = 'c' .. crev
  elseif kind == 'l' and redis.call('GET', pfx .. 'lock:' .. key) ~= prevs then
    out[#out + 1] = 'l'
  elseif kind == 'd' then
    if cur then
      redis.call('DEL', k)
      own(cowner, k, false)
      logc('d', 0, 0, 0, writer, key, '')
      out[#out + 1] = rev
    else
      out[#out + 1] = 0
    end
  else
    rev = rev + 1
    local rs = tostring(rev) -- formatted once: a number's formatting is most of a put's own cost
    local created = rs
    if cur then created = ccreated end
    if cur and cowner ~= owner then own(cowner, k, false) end
    own(owner, k, true)
    local head = rs .. ' ' .. created .. ' ' .. pxat .. ' ' .. owner
    if pxat ~= '0' then
      redis.call('SET', k, head .. ' ' .. value, 'PXAT', tonumber(pxat) + tonumber(ARGV[4]))
    else
      redis.call('SET', k, head .. ' ' .. value)
    end
    if kind == 'l' then redis.call('DEL', pfx .. 'lock:' .. key) end
    fields[#fields + 1] = 'p ' .. rs .. ' ' .. created .. ' ' .. pxat .. ' ' .. owner .. ' ' .. writer .. ' ' .. key
    fields[#fields + 1] = value
    out[#out + 1] = rev
  end
end
commit()
return out
`)

// dropScript deletes the keys of owners (ARGV[4] "o", then the owners),
// or reaps the machines whose lease ended (ARGV[4] "r"): their owners'
// keys go. It returns the number of changes.
var dropScript = rueidis.NewLuaScript(prelude + `
if ARGV[4] == 'o' then
  for i = 5, #ARGV do dropOwner(ARGV[i]) end
else
  for _, m in ipairs(redis.call('HKEYS', pfx .. 'machines')) do
    if redis.call('EXISTS', pfx .. 'lease:' .. m) == 0 then
      for _, o in ipairs(redis.call('SMEMBERS', pfx .. 'mo:' .. m)) do dropOwner(o) end
      redis.call('DEL', pfx .. 'mo:' .. m)
      redis.call('HDEL', pfx .. 'machines', m)
    end
  end
end
commit()
return rev - start
`)

// helloScript returns the epoch and revision (creating the epoch, and
// raising the revision to ARGV[4] if it is below: after a loss of data,
// revisions go on above those a machine has seen); with ARGV[5] > 0 it
// also registers a machine with a lease of that many milliseconds, held
// under the token ARGV[6], and returns its number. A server process other than the one the epoch was
// made on (a restart, a failover) gets a new epoch: its data may be an
// older save than the log the machines followed, whose revisions it
// would give again to other changes; with a new epoch they read it again.
var helloScript = rueidis.NewLuaScript(prelude + `
local server = string.match(redis.call('INFO', 'server'), 'run_id:(%x+)') or ''
if redis.call('HGET', meta, 'server') ~= server then
  epoch = ARGV[3]
  redis.call('HSET', meta, 'epoch', epoch, 'server', server)
end
if rev < tonumber(ARGV[4]) then
  rev = tonumber(ARGV[4])
  redis.call('HSET', meta, 'rev', rev)
end
local m = 0
if tonumber(ARGV[5]) > 0 then
  m = redis.call('HINCRBY', meta, 'machines', 1)
  redis.call('SET', pfx .. 'lease:' .. m, ARGV[6], 'PX', ARGV[5])
  redis.call('HSET', pfx .. 'machines', m, '1')
end
return {epoch, rev, m}
`)

// loadBeginScript starts the load of a key: KEYS[1] its data key, KEYS[2]
// its lock, KEYS[3] the fence; ARGV[1] the machine, ARGV[2] the lease in
// milliseconds. It returns {"h", value} if the key exists, {"w"} if another
// load holds the lock (one that left an error does not), {"l", lock value} if the caller now holds it.
var loadBeginScript = rueidis.NewLuaScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local cur = redis.call('GET', KEYS[1])
if cur then
  local x = string.match(cur, '^%d+ %d+ (%d+) ')
  if x == '0' or tonumber(x) > now then return {'h', cur} end
end
local held = redis.call('GET', KEYS[2])
if held and string.sub(held, 1, 1) ~= '!' then return {'w'} end -- '!': a failed load's error
local lock = ARGV[1] .. ':' .. redis.call('INCR', KEYS[3])
redis.call('SET', KEYS[2], lock, 'PX', ARGV[2])
return {'l', lock}
`)

// lockScript extends (ARGV[2] > 0: milliseconds) or releases (0) the lock
// KEYS[1] if it is still ARGV[1]; it returns 1 if it was. A release with
// an error (ARGV[3] not empty) leaves "!" and the error in the lock for
// ARGV[4] milliseconds: the waiters on other machines get it, as the
// leader's own do, instead of trying the origin again at once.
var lockScript = rueidis.NewLuaScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if tonumber(ARGV[2]) > 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
elseif ARGV[3] ~= '' then
  redis.call('SET', KEYS[1], '!' .. ARGV[3], 'PX', ARGV[4])
else
  redis.call('DEL', KEYS[1])
end
return 1
`)
