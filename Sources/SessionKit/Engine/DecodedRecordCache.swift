import Synchronization

/// The decoded payloads of the records an engine read or wrote lately, by key,
/// so that a record loaded again with the same bytes is not decoded again.
///
/// An entry is used only when the store hands back exactly the bytes it was
/// made from, so a hit is always what decoding those bytes would give: a record
/// changed by another process or engine has other bytes and is decoded afresh.
/// Written payloads are remembered only when their bytes decode back to them
/// (``SessionPayload/readableEncoding()``'s `readsBackIdentical`). With payload
/// encryption the bytes are the sealed record, and decoding opens them first.
///
/// Bounded by two generations of at most `capacity / 2` entries and
/// `byteBudget / 2` record bytes each: when the current one fills up it becomes
/// the previous one and the oldest is dropped, and an entry found in the previous
/// one moves back into the current one. A record larger than `byteBudget / 2` is
/// never kept. Bytes are counted as the stored record's size; the decoded copy
/// takes about as much again. With the ``MemoryStore`` an entry's bytes are the
/// store's own array (nothing is copied); with a network store they are the last
/// bytes read or written.
final class DecodedRecordCache: Sendable {
    private struct Entry {
        var data: [UInt8]
        var payload: SessionPayload
    }

    private struct Generation {
        var entries: [SessionKey: Entry] = [:]
        var bytes = 0

        mutating func remove(_ key: SessionKey) -> Entry? {
            guard let entry = entries.removeValue(forKey: key) else { return nil }
            bytes -= entry.data.count
            return entry
        }
    }

    private struct Generations {
        var current = Generation()
        var previous = Generation()
    }

    /// The most entries kept; `0` keeps none.
    let capacity: Int
    /// The most record bytes kept; `0` keeps none.
    let byteBudget: Int
    /// Decodes a record's bytes stored under a key (opening them first when payloads are encrypted).
    let decode: @Sendable ([UInt8], SessionKey) -> SessionPayload?
    private let generations = Mutex(Generations())

    init(
        capacity: Int,
        byteBudget: Int = 16 << 20,
        decode: @escaping @Sendable ([UInt8], SessionKey) -> SessionPayload? = { data, _ in SessionPayload(decoding: data) }
    ) {
        self.capacity = capacity
        self.byteBudget = byteBudget
        self.decode = decode
    }

    private var isEnabled: Bool { capacity > 0 && byteBudget > 0 }

    /// The payload of `data`, the record stored under `key`: from the cache when
    /// these exact bytes were decoded or written lately, decoded otherwise;
    /// `nil` when the bytes are not a payload this engine reads.
    func payload(of data: [UInt8], under key: SessionKey) -> SessionPayload? {
        guard isEnabled else { return decode(data, key) }
        let cached: SessionPayload? = generations.withLock { generations in
            if let entry = generations.current.entries[key] {
                // Arrays compare their storage first: with the memory store this is one comparison.
                return entry.data == data ? entry.payload : nil
            }
            guard let entry = generations.previous.remove(key) else { return nil }
            guard entry.data == data else { return nil }
            _ = insert(entry, under: key, into: &generations)
            return entry.payload
        }
        if let cached { return cached }
        guard let payload = decode(data, key) else { return nil }
        remember(payload, data: data, under: key)
        return payload
    }

    /// Keeps `payload` as the decoding of `data`, the bytes just written or read under `key`.
    func remember(_ payload: SessionPayload, data: [UInt8], under key: SessionKey) {
        guard isEnabled else { return }
        let dropped = generations.withLock { insert(Entry(data: data, payload: payload), under: key, into: &$0) }
        // The dropped generation is freed here, outside the lock.
        _ = dropped
    }

    /// Drops the entry of a record that was deleted.
    func forget(_ key: SessionKey) {
        guard isEnabled else { return }
        let removed = generations.withLock { generations in
            (generations.current.remove(key), generations.previous.remove(key))
        }
        _ = removed
    }

    /// How many entries are kept now (for tests).
    var count: Int {
        generations.withLock { $0.current.entries.count + $0.previous.entries.count }
    }

    /// How many record bytes are kept now (for tests).
    var byteCount: Int {
        generations.withLock { $0.current.bytes + $0.previous.bytes }
    }

    /// Inserts into the current generation, starting a new one when it is full;
    /// returns what was dropped, for the caller to free outside the lock.
    private func insert(_ entry: Entry, under key: SessionKey, into generations: inout Generations) -> Generation {
        var dropped = Generation()
        // Any older entry of this key is stale now (and its bytes no longer count).
        _ = generations.current.remove(key)
        _ = generations.previous.remove(key)
        let generationBytes = byteBudget / 2
        // A record this large would push out everything else; it is decoded each time instead.
        guard entry.data.count <= generationBytes else { return dropped }
        if generations.current.entries.count >= max(capacity / 2, 1) || generations.current.bytes + entry.data.count > generationBytes {
            dropped = generations.previous
            generations.previous = generations.current
            generations.current = Generation()
        }
        generations.current.entries[key] = entry
        generations.current.bytes += entry.data.count
        return dropped
    }
}
