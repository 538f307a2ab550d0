#if Redis
/// The scripts a store runs on a Redis Cluster, where every script touches keys
/// of one slot only.
///
/// A session's hash and its owner's index are on different slots, so the
/// cluster scripts come in two kinds that the store runs one after the other,
/// in the order ARCHITECTURE.md argues ("Redis Cluster: the owner index"):
/// session scripts (`KEYS[1]` is the session's hash) and index scripts (`KEYS[1]`
/// and `KEYS[2]` are an owner's two sorted sets, `<prefix>owners:{<digest>}`
/// and `<prefix>owners:{<digest>}:e`, on one slot thanks to the hash tag).
///
/// The first index set holds the owner's session keys with score 0, paged by
/// key (`BYLEX`); the second holds the same members scored with their *stamp*:
/// an upper bound of the expiry of every session ever indexed under that
/// member, which grows by at least 1 at every index write. A member is dropped
/// when its stamp has passed, or when a caller that saw the session gone
/// proves, by the stamp, that no index write came since.
extension RedisScript {
    /// Every cluster script.
    static let cluster: [RedisScript] = [
        .clusterIndexAdd, .clusterIndexRemove, .clusterOwnerPage, .clusterSave, .clusterUnpend, .clusterTouch,
        .clusterDelete, .clusterDeleteIfOwned,
    ]

    /// How many members with a passed stamp an index write also drops.
    static let clusterPruneBatch = 20

    /// Adds a session key to an owner's index, before the session is written.
    ///
    /// `KEYS[1]`, `KEYS[2]`: the owner's key set and stamp set. `ARGV`: the
    /// session key's hex, the session's new expiry and the client's current
    /// time (Unix milliseconds). The stamp becomes the larger of the expiry and
    /// the old stamp plus one; both sets are kept alive until the stamp. Drops up
    /// to ``clusterPruneBatch`` members whose stamp has passed. Returns the stamp.
    static let clusterIndexAdd = RedisScript(
        extendOwnerSet + "\n"
            + """
            local stamp = tonumber(ARGV[2])
            local old = redis.call('ZSCORE', KEYS[2], ARGV[1])
            if old and tonumber(old) + 1 > stamp then stamp = tonumber(old) + 1 end
            stamp = string.format('%.0f', stamp)
            redis.call('ZADD', KEYS[1], 0, ARGV[1])
            redis.call('ZADD', KEYS[2], stamp, ARGV[1])
            extend(KEYS[1], stamp)
            extend(KEYS[2], stamp)
            for _, member in ipairs(redis.call('ZRANGE', KEYS[2], '-inf', ARGV[3], 'BYSCORE', 'LIMIT', 0, \(clusterPruneBatch))) do
              redis.call('ZREM', KEYS[1], member)
              redis.call('ZREM', KEYS[2], member)
            end
            return stamp
            """
    )

    /// Drops members from an owner's index, each only while its stamp is at most a bound.
    ///
    /// `KEYS[1]`, `KEYS[2]`: the owner's key set and stamp set. `ARGV[1]`: the hex
    /// of a session not to count (`""` for none); then pairs of a member and its
    /// bound. A member whose stamp grew past its bound was indexed again since
    /// the caller looked, so it stays. Returns how many members are left, not
    /// counting `ARGV[1]`.
    static let clusterIndexRemove = RedisScript(
        """
        for i = 2, #ARGV, 2 do
          local stamp = redis.call('ZSCORE', KEYS[2], ARGV[i])
          if stamp and tonumber(stamp) <= tonumber(ARGV[i + 1]) then
            redis.call('ZREM', KEYS[1], ARGV[i])
            redis.call('ZREM', KEYS[2], ARGV[i])
          end
        end
        local left = redis.call('ZCARD', KEYS[1])
        if ARGV[1] ~= '' and redis.call('ZSCORE', KEYS[1], ARGV[1]) then left = left - 1 end
        return left
        """
    )

    /// One page of an owner's index in key order, with each member's stamp.
    ///
    /// `KEYS[1]`, `KEYS[2]`: the owner's key set and stamp set. `ARGV`: the
    /// client's current time (Unix milliseconds), the cursor (`""` for the first
    /// page, else the last member of the previous page) and the page size. First
    /// drops up to a page of members whose stamp has passed. O(log n + limit).
    /// Returns the next cursor (`""` after the last page), the members and their stamps.
    static let clusterOwnerPage = RedisScript(
        """
        local limit = tonumber(ARGV[3])
        for _, member in ipairs(redis.call('ZRANGE', KEYS[2], '-inf', ARGV[1], 'BYSCORE', 'LIMIT', 0, limit)) do
          redis.call('ZREM', KEYS[1], member)
          redis.call('ZREM', KEYS[2], member)
        end
        local range
        if ARGV[2] == '' then
          range = redis.call('ZRANGE', KEYS[1], '-', '+', 'BYLEX', 'LIMIT', 0, limit)
        else
          range = redis.call('ZRANGE', KEYS[1], '(' .. ARGV[2], '+', 'BYLEX', 'LIMIT', 0, limit)
        end
        local stamps = {}
        for i, member in ipairs(range) do
          stamps[i] = redis.call('ZSCORE', KEYS[2], member) or '0'
        end
        local next = ''
        if #range == limit then next = range[#range] end
        return {next, range, stamps}
        """
    )

    /// Compare-and-swap save of a session alone (its owner's index is written before it).
    ///
    /// `KEYS[1]`: the session's hash. `ARGV`: the expected version (`""` to
    /// create), the new version, the data, the new expiry and the client's
    /// current time (Unix milliseconds), the owner and its digest (`""` when
    /// none). Liveness, the version check and the writes are those of
    /// ``save``, except that a record with a `p` field is not live.
    ///
    /// A save that binds the record to an owner it was not live under (a
    /// create with an owner, or an owner change) writes it *pending*, with
    /// `p` set: loads treat it as absent until ``clusterUnpend`` clears `p`,
    /// which the store runs after indexing the key again. Returns `{1, previous
    /// digest, previous expiry, 1 when pending else 0}` when written (`""` for
    /// what the replaced hash did not have), `{0, "", "", 0}` on a conflict.
    static let clusterSave = RedisScript(
        """
        local now = tonumber(ARGV[5])
        local live = false
        local previous = ''
        local previousExpiry = ''
        if redis.call('TYPE', KEYS[1]).ok == 'hash' then
          local fields = redis.call('HMGET', KEYS[1], 'v', 'e', 'i', 'p')
          local expiry = tonumber(fields[2])
          if fields[1] and expiry and expiry > now and not fields[4] then live = fields[1] end
          previous = fields[3] or ''
          previousExpiry = fields[2] or ''
        end
        if ARGV[1] == '' then
          if live then return {0, '', '', 0} end
        elseif live ~= ARGV[1] then
          return {0, '', '', 0}
        end
        local kind = redis.call('TYPE', KEYS[1]).ok
        if kind ~= 'hash' and kind ~= 'none' then redis.call('DEL', KEYS[1]) end
        local pending = 0
        if ARGV[7] == '' then
          redis.call('HSET', KEYS[1], 'd', ARGV[3], 'v', ARGV[2], 'e', ARGV[4])
          redis.call('HDEL', KEYS[1], 'o', 'i', 'p')
        else
          if not live or previous ~= ARGV[7] then pending = 1 end
          redis.call('HSET', KEYS[1], 'd', ARGV[3], 'v', ARGV[2], 'e', ARGV[4], 'o', ARGV[6], 'i', ARGV[7])
          if pending == 1 then redis.call('HSET', KEYS[1], 'p', '1') else redis.call('HDEL', KEYS[1], 'p') end
        end
        redis.call('PEXPIREAT', KEYS[1], ARGV[4])
        return {1, previous, previousExpiry, pending}
        """
    )

    /// Makes a pending record live, once its key is in its owner's index.
    ///
    /// `KEYS[1]`: the session's hash. `ARGV[1]`: the version the save wrote.
    /// Returns 1 when `p` was cleared, 0 when the record is gone or another
    /// save replaced it meanwhile.
    static let clusterUnpend = RedisScript(
        """
        if redis.call('TYPE', KEYS[1]).ok ~= 'hash' then return 0 end
        if redis.call('HGET', KEYS[1], 'v') ~= ARGV[1] then return 0 end
        redis.call('HDEL', KEYS[1], 'p')
        return 1
        """
    )

    /// Moves a live session's expiry, only while it is still indexed under the expected owner.
    ///
    /// `KEYS[1]`: the session's hash. `ARGV`: the new expiry and the client's
    /// current time (Unix milliseconds), and the digest of the owner whose index
    /// the caller has just extended (`""` for none). Returns `{1, ""}` when moved,
    /// `{0, ""}` when the session is missing, expired or unreadable, and `{2,
    /// digest}` when its owner is another (the caller indexes that one and tries again).
    static let clusterTouch = RedisScript(
        """
        if redis.call('TYPE', KEYS[1]).ok ~= 'hash' then return {0, ''} end
        local fields = redis.call('HMGET', KEYS[1], 'v', 'e', 'i', 'p')
        local expiry = tonumber(fields[2])
        if not fields[1] or not expiry or expiry <= tonumber(ARGV[2]) or fields[4] then return {0, ''} end
        if (fields[3] or '') ~= ARGV[3] then return {2, fields[3] or ''} end
        redis.call('HSET', KEYS[1], 'e', ARGV[1])
        redis.call('PEXPIREAT', KEYS[1], ARGV[1])
        return {1, ''}
        """
    )

    /// Deletes a session (its index entry is dropped after).
    ///
    /// `KEYS[1]`: the session's hash. Returns the number of keys deleted, and the
    /// deleted hash's owner digest and expiry (`""` when it had none).
    static let clusterDelete = RedisScript(
        """
        local digest, expiry = '', ''
        if redis.call('TYPE', KEYS[1]).ok == 'hash' then
          local fields = redis.call('HMGET', KEYS[1], 'i', 'e')
          digest = fields[1] or ''
          expiry = fields[2] or ''
        end
        return {redis.call('DEL', KEYS[1]), digest, expiry}
        """
    )

    /// Deletes a session if it is indexed under an owner, live or not.
    ///
    /// `KEYS[1]`: the session's hash. `ARGV`: the owner's digest and the client's
    /// current time (Unix milliseconds). Returns 1 when a live session was deleted, else 0.
    static let clusterDeleteIfOwned = RedisScript(
        ownedBy + "\n"
            + """
            local live, fields = owned(KEYS[1], ARGV[1], tonumber(ARGV[2]))
            if fields and fields[3] == ARGV[1] then redis.call('DEL', KEYS[1]) end
            if live then return 1 end
            return 0
            """
    )
}
#endif  // Redis
