#if Redis
import Crypto

/// A Lua script that runs on the server in one round trip, atomically.
///
/// It is sent by name (`EVALSHA`, the SHA-1 of its source) and, when the server
/// answers `NOSCRIPT` (after a restart or `SCRIPT FLUSH`), once more in full with
/// `EVAL`, which also caches it again.
///
/// The owner index scripts reach keys they learn from the data (a previous
/// owner's set, the sessions an owner set lists), which Redis allows outside
/// Redis Cluster; on a cluster the store runs the single-key scripts of
/// `RedisScript+Cluster.swift` instead.
struct RedisScript: Sendable, Hashable {
    /// The Lua source.
    let source: String
    /// The SHA-1 of the source in lowercase hexadecimal: the name Redis caches it under.
    let sha1: String

    init(_ source: String) {
        self.source = source
        self.sha1 = hexadecimal(Insecure.SHA1.hash(data: Array(source.utf8)))
    }

    /// Every script the store runs.
    static let all: [RedisScript] = [.save, .touch, .delete, .ownerSessionsPage, .deleteOwnerSessionsPage]

    /// The most members an owner set holds before each save into it also
    /// checks a few random members and removes the dead ones.
    static let ownerSetPruneThreshold = 1_000

    /// How many random members such a save checks.
    static let ownerSetPruneSample = 20

    /// Moves an owner set's expiry to `expiry` (Unix milliseconds) unless it already
    /// lasts at least as long, so that the set outlives every member.
    ///
    /// The set's current expiry is read as a time to live, so it is compared on
    /// the server's clock, the clock that expires the members.
    static let extendOwnerSet = """
        local function extend(set, expiry)
          local ttl = redis.call('PTTL', set)
          if ttl == -2 then return end
          if ttl >= 0 then
            local now = redis.call('TIME')
            if tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000) + ttl >= tonumber(expiry) then return end
          end
          redis.call('PEXPIREAT', set, expiry)
        end
        """

    /// Whether the session hash under `key` is live (at `now`, Unix milliseconds)
    /// and indexed under the owner digest `digest`; returns its `v`, `e` and `i` fields too.
    static let ownedBy = """
        local function owned(key, digest, now)
          if redis.call('TYPE', key).ok ~= 'hash' then return false, nil end
          local fields = redis.call('HMGET', key, 'v', 'e', 'i')
          local expiry = tonumber(fields[2])
          return fields[1] and expiry and expiry > now and fields[3] == digest, fields
        end
        """

    /// Compare-and-swap save that keeps the owner index in step.
    ///
    /// `KEYS[1]`: the session's hash; `KEYS[2]`, only when the record has an
    /// owner: the owner's sorted set. `ARGV`: the expected version (`""` to create), the
    /// new version, the data, the new expiry and the client's current time (both
    /// in Unix milliseconds), the owner (`""` when none), the owner's digest (`""`
    /// when none), the prefix of owner set keys, the session key's hex (the
    /// owner sets' member), the prefix of session keys and the prefix of the
    /// plain sets that owner indexes were before paging (a moved record leaves its
    /// former owner's plain set too).
    ///
    /// A record is live when the key holds a hash with a `v` field and an `e`
    /// later than the client's time; anything else (no key, an expired or
    /// unreadable record, a value of another type) counts as absent. A create
    /// succeeds only over an absent record, an update only when the live record's
    /// version is the expected one. Versions are compared as text, so Lua's
    /// doubles never round them. The hash is rewritten in place (`HSET`, then
    /// `HDEL` of the owner fields when there is no owner; a key of another type is
    /// deleted first): the first write is `HSET`, a command Redis refuses once
    /// `maxmemory` is reached under `noeviction`, so a full Redis fails the save
    /// instead of growing past its limit (a script whose first write was `DEL`,
    /// which Redis always allows, could write on after it); `PEXPIREAT` makes
    /// Redis itself drop it at its expiry, and an expiry already past deletes it
    /// at once.
    ///
    /// The record leaves the set of the owner it was saved under before (named by
    /// its `i` field) when that owner differs, and joins the new owner's set
    /// unless it is already expired. That set is kept alive at least as long as
    /// the record. Once it holds over ``ownerSetPruneThreshold`` members, each
    /// save into it also checks ``ownerSetPruneSample`` random members and removes
    /// the dead ones, so the work per save stays bounded. Returns 1 when written,
    /// 0 on a conflict.
    static let save = RedisScript(
        extendOwnerSet + "\n" + ownedBy + "\n"
            + """
            local now = tonumber(ARGV[5])
            local live = false
            local previous = false
            if redis.call('TYPE', KEYS[1]).ok == 'hash' then
              local fields = redis.call('HMGET', KEYS[1], 'v', 'e', 'i')
              local expiry = tonumber(fields[2])
              if fields[1] and expiry and expiry > now then live = fields[1] end
              previous = fields[3]
            end
            if ARGV[1] == '' then
              if live then return 0 end
            elseif live ~= ARGV[1] then
              return 0
            end
            local kind = redis.call('TYPE', KEYS[1]).ok
            if kind ~= 'hash' and kind ~= 'none' then redis.call('DEL', KEYS[1]) end
            if ARGV[7] == '' then
              redis.call('HSET', KEYS[1], 'd', ARGV[3], 'v', ARGV[2], 'e', ARGV[4])
              redis.call('HDEL', KEYS[1], 'o', 'i')
            else
              redis.call('HSET', KEYS[1], 'd', ARGV[3], 'v', ARGV[2], 'e', ARGV[4], 'o', ARGV[6], 'i', ARGV[7])
            end
            if previous and previous ~= ARGV[7] then
              redis.call('ZREM', ARGV[8] .. previous, ARGV[9])
              redis.call('SREM', ARGV[11] .. previous, ARGV[9])
            end
            redis.call('PEXPIREAT', KEYS[1], ARGV[4])
            if ARGV[7] ~= '' and tonumber(ARGV[4]) > now then
              redis.call('ZADD', KEYS[2], 0, ARGV[9])
              extend(KEYS[2], ARGV[4])
              if redis.call('ZCARD', KEYS[2]) > \(ownerSetPruneThreshold) then
                for _, member in ipairs(redis.call('ZRANDMEMBER', KEYS[2], \(ownerSetPruneSample))) do
                  if not owned(ARGV[10] .. member, ARGV[7], now) then
                    redis.call('ZREM', KEYS[2], member)
                  end
                end
              end
            end
            return 1
            """
    )

    /// Moves a live record's expiry without touching its data or version.
    ///
    /// `KEYS[1]`: the session's hash. `ARGV`: the new expiry and the client's
    /// current time (Unix milliseconds), the prefix of owner set keys, the prefix
    /// of the plain sets of before paging and the session key's hex. A
    /// missing, expired or unreadable record stays as it is: touching never
    /// creates one. The owner set of an owned record is kept alive at least as
    /// long as the record; a record still in its owner's plain set moves to the
    /// sorted set (that set is not extended any more). Returns 1 when moved, 0 otherwise.
    static let touch = RedisScript(
        extendOwnerSet + "\n"
            + """
            if redis.call('TYPE', KEYS[1]).ok ~= 'hash' then return 0 end
            local fields = redis.call('HMGET', KEYS[1], 'v', 'e', 'i')
            local expiry = tonumber(fields[2])
            if not fields[1] or not expiry or expiry <= tonumber(ARGV[2]) then return 0 end
            redis.call('HSET', KEYS[1], 'e', ARGV[1])
            redis.call('PEXPIREAT', KEYS[1], ARGV[1])
            if fields[3] and tonumber(ARGV[1]) > tonumber(ARGV[2]) then
              if redis.call('SREM', ARGV[4] .. fields[3], ARGV[5]) == 1 then
                redis.call('ZADD', ARGV[3] .. fields[3], 0, ARGV[5])
              end
              extend(ARGV[3] .. fields[3], ARGV[1])
            end
            return 1
            """
    )

    /// Deletes a record and removes it from its owner's set.
    ///
    /// `KEYS[1]`: the session's hash. `ARGV`: the prefix of owner set keys, the
    /// session key's hex and the prefix of the plain sets of before paging.
    /// Returns the number of keys deleted (0 or 1).
    static let delete = RedisScript(
        """
        if redis.call('TYPE', KEYS[1]).ok == 'hash' then
          local digest = redis.call('HGET', KEYS[1], 'i')
          if digest then
            redis.call('ZREM', ARGV[1] .. digest, ARGV[2])
            redis.call('SREM', ARGV[3] .. digest, ARGV[2])
          end
        end
        return redis.call('DEL', KEYS[1])
        """
    )

    /// Moves at most `limit` members of an owner's plain set (how the index was
    /// kept before paging) into its sorted set, keeping the later of the two
    /// expiries; returns whether the plain set existed.
    ///
    /// Owner sets written by an older store drain this way a page at a time, so
    /// no call does more than a page's work and none of their sessions is missed.
    private static let drainPlainSet = """
        local function drain(sorted, plain, limit)
          if redis.call('EXISTS', plain) == 0 then return false end
          local expiry = redis.call('PEXPIRETIME', plain)
          for _, member in ipairs(redis.call('SPOP', plain, limit)) do
            redis.call('ZADD', sorted, 0, member)
          end
          if expiry > 0 then extend(sorted, expiry) else redis.call('PERSIST', sorted) end
          return true
        end
        """

    /// One page of an owner's live members, in key order, removing the dead ones met.
    ///
    /// `KEYS[1]`: the owner's sorted set (every score 0, so members are in
    /// lexicographic order); `KEYS[2]`: its plain set of before paging. `ARGV`:
    /// the session key prefix, the owner's digest, the client's current time
    /// (Unix milliseconds), the cursor (`""` or `"-"` for the first page, else the
    /// last member of the previous page) and the page size. One `ZRANGE … BYLEX
    /// LIMIT` reads at most the page size of members: O(log n + limit). A member
    /// is dead when its record is gone, expired, unreadable, or indexed under
    /// another owner. Returns the next cursor (`""` after the last page; `"-"`,
    /// start again, while a plain set is being drained) and the live members.
    static let ownerSessionsPage = RedisScript(
        extendOwnerSet + "\n" + ownedBy + "\n" + drainPlainSet + "\n"
            + """
            local now = tonumber(ARGV[3])
            local limit = tonumber(ARGV[5])
            local draining = drain(KEYS[1], KEYS[2], limit)
            local range
            if ARGV[4] == '' or ARGV[4] == '-' then
              range = redis.call('ZRANGE', KEYS[1], '-', '+', 'BYLEX', 'LIMIT', 0, limit)
            else
              range = redis.call('ZRANGE', KEYS[1], '(' .. ARGV[4], '+', 'BYLEX', 'LIMIT', 0, limit)
            end
            local live = {}
            for _, member in ipairs(range) do
              if owned(ARGV[1] .. member, ARGV[2], now) then
                live[#live + 1] = member
              else
                redis.call('ZREM', KEYS[1], member)
              end
            end
            local next = ''
            if #range == limit then next = range[#range] end
            -- Members drained meanwhile may sort before the cursor: walk again from the start.
            if draining then next = '-' end
            return {next, live}
            """
    )

    /// Deletes at most `limit` records of an owner's set except one, and removes them from it.
    ///
    /// `KEYS[1]`: the owner's sorted set; `KEYS[2]`: its plain set of before
    /// paging. `ARGV`: the session key prefix, the owner's digest, the client's
    /// current time (Unix milliseconds), the key hex of the session to keep
    /// (`""` for none) and the most members to visit. Only records still indexed
    /// under this owner are deleted; members that point elsewhere just leave the
    /// set. O(log n + limit). Returns how many live records were deleted and 1
    /// when the owner may have others left (0 otherwise).
    static let deleteOwnerSessionsPage = RedisScript(
        extendOwnerSet + "\n" + ownedBy + "\n" + drainPlainSet + "\n"
            + """
            local now = tonumber(ARGV[3])
            local limit = tonumber(ARGV[5])
            drain(KEYS[1], KEYS[2], limit)
            local deleted = 0
            local visited = 0
            for _, member in ipairs(redis.call('ZRANGE', KEYS[1], '-', '+', 'BYLEX', 'LIMIT', 0, limit + 1)) do
              if member ~= ARGV[4] and visited < limit then
                visited = visited + 1
                local key = ARGV[1] .. member
                local live, fields = owned(key, ARGV[2], now)
                if live then deleted = deleted + 1 end
                if fields and fields[3] == ARGV[2] then redis.call('DEL', key) end
                redis.call('ZREM', KEYS[1], member)
              end
            end
            local left = redis.call('ZCARD', KEYS[1])
            if ARGV[4] ~= '' and redis.call('ZSCORE', KEYS[1], ARGV[4]) then left = left - 1 end
            if left > 0 or redis.call('EXISTS', KEYS[2]) == 1 then return {deleted, 1} end
            return {deleted, 0}
            """
    )
}

/// Bytes as lowercase hexadecimal text.
func hexadecimal(_ bytes: some Sequence<UInt8>) -> String {
    let digits = Array("0123456789abcdef".utf8)
    var text: [UInt8] = []
    for byte in bytes {
        text.append(digits[Int(byte >> 4)])
        text.append(digits[Int(byte & 0x0F)])
    }
    return String(decoding: text, as: UTF8.self)
}
#endif  // Redis
