import Synchronization

/// The decoded payloads of the records an engine read or wrote lately, by key,
/// so that a record loaded again with the same bytes is not decoded again.
///
/// An entry is used only when the store hands back exactly the bytes it was
/// made from, so a hit is always what decoding those bytes would give: a record
/// changed by another process or engine has other bytes and is decoded afresh.
/// Written payloads are remembered only when their bytes decode back to them
/// (``SessionPayload/readableEncoding()``'s `readsBackIdentical`).
///
/// Bounded by two generations of at most `capacity / 2` entries each: when the
/// current one fills up it becomes the previous one and the oldest is dropped,
/// and an entry found in the previous one moves back into the current one. With
/// the ``MemoryStore`` an entry's bytes are the store's own array (nothing is
/// copied); with a network store they are the last bytes read or written.
final class DecodedRecordCache: Sendable {
    private struct Entry {
        var data: [UInt8]
        var payload: SessionPayload
    }

    private struct Generations {
        var current: [SessionKey: Entry] = [:]
        var previous: [SessionKey: Entry] = [:]
    }

    /// The most entries kept; `0` keeps none.
    let capacity: Int
    private let generations = Mutex(Generations())

    /// The most record bytes kept (stub: not yet enforced).
    let byteBudget: Int

    init(capacity: Int, byteBudget: Int = .max) {
        self.capacity = capacity
        self.byteBudget = byteBudget
    }

    /// The payload of `data`, the record stored under `key`: from the cache when
    /// these exact bytes were decoded or written lately, decoded otherwise;
    /// `nil` when the bytes are not a payload this version reads.
    func payload(of data: [UInt8], under key: SessionKey) -> SessionPayload? {
        guard capacity > 0 else { return SessionPayload(decoding: data) }
        let cached: SessionPayload? = generations.withLock { generations in
            if let entry = generations.current[key] {
                // Arrays compare their storage first: with the memory store this is one comparison.
                return entry.data == data ? entry.payload : nil
            }
            guard let entry = generations.previous.removeValue(forKey: key) else { return nil }
            guard entry.data == data else { return nil }
            _ = insert(entry, under: key, into: &generations)
            return entry.payload
        }
        if let cached { return cached }
        guard let payload = SessionPayload(decoding: data) else { return nil }
        remember(payload, data: data, under: key)
        return payload
    }

    /// Keeps `payload` as the decoding of `data`, the bytes just written or read under `key`.
    func remember(_ payload: SessionPayload, data: [UInt8], under key: SessionKey) {
        guard capacity > 0 else { return }
        let dropped = generations.withLock { insert(Entry(data: data, payload: payload), under: key, into: &$0) }
        // The dropped generation is freed here, outside the lock.
        _ = dropped
    }

    /// Drops the entry of a record that was deleted.
    func forget(_ key: SessionKey) {
        guard capacity > 0 else { return }
        let removed = generations.withLock { generations in
            (generations.current.removeValue(forKey: key), generations.previous.removeValue(forKey: key))
        }
        _ = removed
    }

    /// How many record bytes are kept now (for tests).
    var byteCount: Int {
        generations.withLock { $0.current.values.reduce(0) { $0 + $1.data.count } + $0.previous.values.reduce(0) { $0 + $1.data.count } }
    }

    /// How many entries are kept now (for tests).
    var count: Int {
        generations.withLock { $0.current.count + $0.previous.count }
    }

    /// Inserts into the current generation, starting a new one when it is full;
    /// returns the generation that was dropped, for the caller to free outside the lock.
    private func insert(_ entry: Entry, under key: SessionKey, into generations: inout Generations) -> [SessionKey: Entry] {
        var dropped: [SessionKey: Entry] = [:]
        if generations.current[key] == nil, generations.current.count >= max(capacity / 2, 1) {
            dropped = generations.previous
            generations.previous = generations.current
            generations.current = [:]
        }
        generations.current[key] = entry
        generations.previous[key] = nil
        return dropped
    }
}
