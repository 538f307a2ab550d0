import Crypto

/// A Lua script that runs on the server in one round trip, atomically.
///
/// It is sent by name (`EVALSHA`, the SHA-1 of its source) and, when the server
/// answers `NOSCRIPT` (after a restart or `SCRIPT FLUSH`), once more in full with
/// `EVAL`, which also caches it again.
struct RedisScript: Sendable, Hashable {
    /// The Lua source.
    let source: String
    /// The SHA-1 of the source in lowercase hexadecimal: the name Redis caches it under.
    let sha1: String

    init(_ source: String) {
        self.source = source
        self.sha1 = Insecure.SHA1.hash(data: Array(source.utf8)).map { byte in
            let digits = Array("0123456789abcdef")
            return String([digits[Int(byte >> 4)], digits[Int(byte & 0x0F)]])
        }.joined()
    }

    /// Compare-and-swap save.
    ///
    /// `KEYS[1]`: the session's hash. `ARGV`: the expected version (`""` to
    /// create), the new version, the data, the new expiry and the client's current
    /// time (both in Unix milliseconds).
    ///
    /// A record is live when the key holds a hash with a `v` field and an `e`
    /// later than the client's time; anything else (no key, an expired or
    /// unreadable record, a value of another type) counts as absent. A create
    /// succeeds only over an absent record, an update only when the live record's
    /// version is the expected one. Versions are compared as text, so Lua's
    /// doubles never round them. `PEXPIREAT` makes Redis itself drop the record at
    /// its expiry; an expiry already past deletes it at once. Returns 1 when
    /// written, 0 on a conflict.
    static let save = RedisScript(
        """
        local live = false
        if redis.call('TYPE', KEYS[1]).ok == 'hash' then
          local fields = redis.call('HMGET', KEYS[1], 'v', 'e')
          local expiry = tonumber(fields[2])
          if fields[1] and expiry and expiry > tonumber(ARGV[5]) then live = fields[1] end
        end
        if ARGV[1] == '' then
          if live then return 0 end
        elseif live ~= ARGV[1] then
          return 0
        end
        if not live then redis.call('DEL', KEYS[1]) end
        redis.call('HSET', KEYS[1], 'd', ARGV[3], 'v', ARGV[2], 'e', ARGV[4])
        redis.call('PEXPIREAT', KEYS[1], ARGV[4])
        return 1
        """
    )

    /// Moves a live record's expiry without touching its data or version.
    ///
    /// `KEYS[1]`: the session's hash. `ARGV`: the new expiry and the client's
    /// current time (Unix milliseconds). A missing, expired or unreadable record
    /// stays as it is: touching never creates one. Returns 1 when moved, 0 otherwise.
    static let touch = RedisScript(
        """
        if redis.call('TYPE', KEYS[1]).ok ~= 'hash' then return 0 end
        local fields = redis.call('HMGET', KEYS[1], 'v', 'e')
        local expiry = tonumber(fields[2])
        if not fields[1] or not expiry or expiry <= tonumber(ARGV[2]) then return 0 end
        redis.call('HSET', KEYS[1], 'e', ARGV[1])
        redis.call('PEXPIREAT', KEYS[1], ARGV[1])
        return 1
        """
    )
}
