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
/// Redis Cluster; the store does not support Cluster.
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
    static let all: [RedisScript] = [.save, .touch, .delete, .ownerSessions, .deleteOwnerSessions]

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
    private static let extendOwnerSet = """
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
    private static let ownedBy = """
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
    /// owner: the owner's set. `ARGV`: the expected version (`""` to create), the
    /// new version, the data, the new expiry and the client's current time (both
    /// in Unix milliseconds), the owner (`""` when none), the owner's digest (`""`
    /// when none), the prefix of owner set keys, the session key's hex (the
    /// owner sets' member) and the prefix of session keys.
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
            if previous and previous ~= ARGV[7] then redis.call('SREM', ARGV[8] .. previous, ARGV[9]) end
            redis.call('PEXPIREAT', KEYS[1], ARGV[4])
            if ARGV[7] ~= '' and tonumber(ARGV[4]) > now then
              redis.call('SADD', KEYS[2], ARGV[9])
              extend(KEYS[2], ARGV[4])
              if redis.call('SCARD', KEYS[2]) > \(ownerSetPruneThreshold) then
                for _, member in ipairs(redis.call('SRANDMEMBER', KEYS[2], \(ownerSetPruneSample))) do
                  if not owned(ARGV[10] .. member, ARGV[7], now) then
                    redis.call('SREM', KEYS[2], member)
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
    /// current time (Unix milliseconds), and the prefix of owner set keys. A
    /// missing, expired or unreadable record stays as it is: touching never
    /// creates one. The owner set of an owned record is kept alive at least as
    /// long as the record. Returns 1 when moved, 0 otherwise.
    static let touch = RedisScript(
        extendOwnerSet + "\n"
            + """
            if redis.call('TYPE', KEYS[1]).ok ~= 'hash' then return 0 end
            local fields = redis.call('HMGET', KEYS[1], 'v', 'e', 'i')
            local expiry = tonumber(fields[2])
            if not fields[1] or not expiry or expiry <= tonumber(ARGV[2]) then return 0 end
            redis.call('HSET', KEYS[1], 'e', ARGV[1])
            redis.call('PEXPIREAT', KEYS[1], ARGV[1])
            if fields[3] and tonumber(ARGV[1]) > tonumber(ARGV[2]) then extend(ARGV[3] .. fields[3], ARGV[1]) end
            return 1
            """
    )

    /// Deletes a record and removes it from its owner's set.
    ///
    /// `KEYS[1]`: the session's hash. `ARGV`: the prefix of owner set keys and the
    /// session key's hex. Returns the number of keys deleted (0 or 1).
    static let delete = RedisScript(
        """
        if redis.call('TYPE', KEYS[1]).ok == 'hash' then
          local digest = redis.call('HGET', KEYS[1], 'i')
          if digest then redis.call('SREM', ARGV[1] .. digest, ARGV[2]) end
        end
        return redis.call('DEL', KEYS[1])
        """
    )

    /// Lists the live members of an owner set, removing the dead ones.
    ///
    /// `KEYS[1]`: the owner's set. `ARGV`: the session key prefix, the owner's
    /// digest and the client's current time (Unix milliseconds). A member is
    /// dead when its record is gone, expired, unreadable, or now indexed under
    /// another owner. Returns the live members' key hexes.
    static let ownerSessions = RedisScript(
        ownedBy + "\n"
            + """
            local now = tonumber(ARGV[3])
            local live = {}
            for _, member in ipairs(redis.call('SMEMBERS', KEYS[1])) do
              if owned(ARGV[1] .. member, ARGV[2], now) then
                live[#live + 1] = member
              else
                redis.call('SREM', KEYS[1], member)
              end
            end
            return live
            """
    )

    /// Deletes every record in an owner set except one, emptying the set of them.
    ///
    /// `KEYS[1]`: the owner's set. `ARGV`: the session key prefix, the owner's
    /// digest, the client's current time (Unix milliseconds) and the key hex of
    /// the session to keep (`""` for none). Only records still indexed under this
    /// owner are deleted; members that point elsewhere just leave the set.
    /// Returns how many live records were deleted.
    static let deleteOwnerSessions = RedisScript(
        ownedBy + "\n"
            + """
            local now = tonumber(ARGV[3])
            local deleted = 0
            for _, member in ipairs(redis.call('SMEMBERS', KEYS[1])) do
              if member ~= ARGV[4] then
                local key = ARGV[1] .. member
                local live, fields = owned(key, ARGV[2], now)
                if live then deleted = deleted + 1 end
                if fields and fields[3] == ARGV[2] then redis.call('DEL', key) end
                redis.call('SREM', KEYS[1], member)
              end
            end
            return deleted
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
