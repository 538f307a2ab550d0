/// One mutation a request made to its session, recorded so the engine can
/// replay the request on a fresher record after a compare-and-swap conflict.
///
/// Replaying the operations, rather than writing the whole session back, is
/// what lets two requests that change the same session at once both land:
/// each one's changes apply on top of the other's.
public enum SessionOperation: Sendable, Hashable {
    /// Set a key to a value.
    case set(String, SessionValue)
    /// Remove a key.
    case remove(String)
    /// Add to an integer (a missing or non-integer value counts as zero; the sum saturates).
    case increment(String, by: Int64)
    /// Append to an array (a missing value starts an empty array; any other value becomes the array's first element).
    case push(String, SessionValue)
    /// Remove every key, every flash mark and the owner binding.
    case flush
    /// Set a key and keep it for the next request only.
    case flash(String, SessionValue)
    /// Set a key for this request only.
    case now(String, SessionValue)
    /// Keep every flashed value for one more request.
    case reflash
    /// Keep these flashed values for one more request.
    case keep([String])
    /// Bind the session to an owner (the signed-in user), for the owner index.
    case bindOwner(String)
    /// Set one member of the object under a key; nothing when the key does not
    /// hold an object (so a replay never resurrects part of a value that another
    /// request removed).
    case setMember(String, member: String, SessionValue)
    /// Remove one member of the object under a key; nothing when the key does not hold an object.
    case removeMember(String, member: String)
    /// Set a key to a value (or remove it, with `nil`) only if its current value
    /// is `expected` (`nil`: absent) — a compare-and-set of one key, checked
    /// again when the operation is replayed on a fresher record.
    case replace(String, expected: SessionValue?, with: SessionValue?)
}

/// The decoded content of a session record: the user's values, the flash
/// bookkeeping, and when the session was created.
struct SessionPayload: Sendable, Hashable {
    static let formatVersion: Int64 = 1

    var values: [String: SessionValue] = [:]
    /// Keys flashed in this request: kept through the next one.
    var flashNew: [String] = []
    /// Keys flashed in the previous request (or set with `now`): removed at the end of this one.
    var flashOld: [String] = []
    var createdAt: Double
    /// The owner the session is bound to, for the owner index.
    var owner: String?
    /// With the cookie store: the owner's epoch when the session was bound to it.
    var ownerEpoch: Int64?
    /// Recorded when the session is created, if the configuration asks for it.
    var userAgent: String?
    var ipAddress: String?

    init(createdAt: Double) {
        self.createdAt = createdAt
    }

    var csrfSecret: String? { values[CSRFToken.sessionKey]?.stringValue }

    /// Empty: no values, no flash marks and no owner. An empty session is not kept.
    var isEmpty: Bool { values.isEmpty && flashNew.isEmpty && flashOld.isEmpty && owner == nil }
    var hasFlashToAge: Bool { !flashNew.isEmpty || !flashOld.isEmpty }

    mutating func apply(_ operation: SessionOperation) {
        switch operation {
        case .set(let key, let value):
            values[key] = value
        case .remove(let key):
            values[key] = nil
        case .increment(let key, let amount):
            values[key] = .int(Self.incremented(values[key], by: amount))
        case .push(let key, let value):
            switch values[key] {
            case .array(var elements)?:
                elements.append(value)
                values[key] = .array(elements)
            case nil, .null?:
                values[key] = .array([value])
            case let other?:
                values[key] = .array([other, value])
            }
        case .flush:
            values = [:]
            flashNew = []
            flashOld = []
            owner = nil
            ownerEpoch = nil
        case .flash(let key, let value):
            values[key] = value
            if !flashNew.contains(key) { flashNew.append(key) }
            flashOld.removeAll { $0 == key }
        case .now(let key, let value):
            values[key] = value
            if !flashOld.contains(key) { flashOld.append(key) }
        case .reflash:
            for key in flashOld where !flashNew.contains(key) { flashNew.append(key) }
            flashOld = []
        case .keep(let keys):
            for key in keys where !flashNew.contains(key) { flashNew.append(key) }
            flashOld.removeAll { keys.contains($0) }
        case .bindOwner(let owner):
            self.owner = owner
        case .setMember(let key, let member, let value):
            guard case .object(var members)? = values[key] else { return }
            members[member] = value
            values[key] = .object(members)
        case .removeMember(let key, let member):
            guard case .object(var members)? = values[key], members[member] != nil else { return }
            members[member] = nil
            values[key] = .object(members)
        case .replace(let key, let expected, let replacement):
            guard values[key] == expected else { return }
            values[key] = replacement
        }
    }

    static func incremented(_ value: SessionValue?, by amount: Int64) -> Int64 {
        let current = value?.intValue ?? 0
        let (sum, overflow) = current.addingReportingOverflow(amount)
        if overflow { return amount > 0 ? .max : .min }
        return sum
    }

    /// Ends a request's flash cycle (Laravel's `ageFlashData`): every value on the
    /// old list (flashed in the previous request and not kept, or set with `now`
    /// in this one) is removed, and values flashed in this one become the
    /// previous request's.
    ///
    /// A key on both lists was flashed (or kept) and then set with `now`: the
    /// later call wins and the value goes now, as in Laravel, which forgets
    /// every old key without looking at the new list.
    mutating func ageFlash() {
        for key in flashOld { values[key] = nil }
        flashOld = flashNew
        flashNew = []
    }

    /// Ends the flash cycle of a request that saw only the flash keys in
    /// `seen`, on a payload that may also hold other requests' changes (its
    /// log replayed on a fresher record after a conflict, or folded after other
    /// members of a batch).
    ///
    /// Laravel ages per request what that request loaded. A key on the old list
    /// that the request never saw (flashed by a request that committed after
    /// this one loaded) is not removed: it stays on the old list, for the next
    /// request to show. Keys the request saw go as in ``ageFlash()``, which this
    /// is when `seen` holds every key on the old list.
    ///
    /// - Parameter seen: ``flashKeysSeen(loaded:operations:)`` of the request.
    mutating func ageFlash(seeing seen: Set<String>) {
        var unseen: [String] = []
        for key in flashOld {
            if seen.contains(key) {
                values[key] = nil
            } else if !flashNew.contains(key) {
                unseen.append(key)
            }
        }
        flashOld = unseen + flashNew
        flashNew = []
    }

    /// The flash keys a request saw: the ones marked in the payload it loaded,
    /// and the ones it set with ``SessionOperation/now(_:_:)`` itself.
    static func flashKeysSeen(loaded: SessionPayload, operations: [SessionOperation]) -> Set<String> {
        var seen = Set(loaded.flashOld).union(loaded.flashNew)
        for case .now(let key, _) in operations { seen.insert(key) }
        return seen
    }

    /// Whether two owner ids are the same owner: the same UTF-8 bytes, as every
    /// store compares them. Swift's `==` on `String` would also equate canonically
    /// equivalent ids ("é" and "e" + U+0301), which are two owners in a database.
    static func isSameOwner(_ lhs: String?, _ rhs: String?) -> Bool {
        switch (lhs, rhs) {
        case (nil, nil): return true
        case (let lhs?, let rhs?): return lhs.utf8.elementsEqual(rhs.utf8)
        default: return false
        }
    }

    // MARK: Encoding

    /// The record's own object and its `d` member wrap every value in two levels.
    static let maximumRecordDepth = JSONCodec.maximumDepth + 2

    /// The stored bytes, whatever the values' depth (for tests and tools; the
    /// engine writes ``readableEncoding()``).
    func encoded() -> [UInt8] {
        var shape = JSONCodec.Shape()
        return encoded(shape: &shape)
    }

    /// The stored bytes, or `nil` when a value nests arrays and objects deeper
    /// than ``JSONCodec/maximumDepth`` levels (possible only for values built in
    /// code): such a record could not be read back, so it must not be written.
    ///
    /// `readsBackIdentical` is `false` when the bytes decode to another payload
    /// than this one (a non-finite double is written as `null`).
    func readableEncoding() -> (bytes: [UInt8], readsBackIdentical: Bool)? {
        var shape = JSONCodec.Shape()
        let bytes = encoded(shape: &shape)
        return shape.levels <= Self.maximumRecordDepth ? (bytes, shape.readsBackIdentical) : nil
    }

    /// The record object, written member by member in key order — the bytes
    /// `JSONCodec` writes for the same object — without building it first:
    /// `{"c":…,"d":{…},"fn":[…],"fo":[…],"ip":…,"o":…,"oe":…,"ua":…,"v":1}`,
    /// absent members left out.
    private func encoded(shape: inout JSONCodec.Shape) -> [UInt8] {
        var output = [UInt8]()
        output.reserveCapacity(128)
        shape.levels = 1
        output.append(contentsOf: #"{"c":"#.utf8)
        JSONCodec.writeDouble(createdAt, into: &output)
        output.append(contentsOf: #","d":"#.utf8)
        JSONCodec.write(.object(values), into: &output, depth: 1, shape: &shape)
        func member(_ name: String, _ write: (inout [UInt8]) -> Void) {
            output.append(UInt8(ascii: ","))
            JSONCodec.writeString(name, into: &output)
            output.append(UInt8(ascii: ":"))
            write(&output)
        }
        func keys(_ keys: [String], into output: inout [UInt8]) {
            shape.levels = max(shape.levels, 2)
            output.append(UInt8(ascii: "["))
            for (index, key) in keys.enumerated() {
                if index > 0 { output.append(UInt8(ascii: ",")) }
                JSONCodec.writeString(key, into: &output)
            }
            output.append(UInt8(ascii: "]"))
        }
        if !flashNew.isEmpty { member("fn") { keys(flashNew, into: &$0) } }
        if !flashOld.isEmpty { member("fo") { keys(flashOld, into: &$0) } }
        if let ipAddress { member("ip") { JSONCodec.writeString(ipAddress, into: &$0) } }
        if let owner { member("o") { JSONCodec.writeString(owner, into: &$0) } }
        if let ownerEpoch { member("oe") { JSONCodec.writeInt(ownerEpoch, into: &$0) } }
        if let userAgent { member("ua") { JSONCodec.writeString(userAgent, into: &$0) } }
        member("v") { JSONCodec.writeInt(Self.formatVersion, into: &$0) }
        output.append(UInt8(ascii: "}"))
        return output
    }

    /// Decodes a stored payload; `nil` for anything this version did not write.
    ///
    /// Members are read as they come (a repeated one counts once, the last
    /// time), without building a dictionary of them; unknown members are ignored.
    init?(decoding bytes: [UInt8]) {
        var version: SessionValue?
        var created: SessionValue?
        var data: SessionValue?
        var flashNew: SessionValue?
        var flashOld: SessionValue?
        var owner: SessionValue?
        var ownerEpoch: SessionValue?
        var userAgent: SessionValue?
        var ipAddress: SessionValue?
        do {
            try JSONCodec.decodeObject(bytes, maximumDepth: Self.maximumRecordDepth) { name, value in
                switch name {
                case "v": version = value
                case "c": created = value
                case "d": data = value
                case "fn": flashNew = value
                case "fo": flashOld = value
                case "o": owner = value
                case "oe": ownerEpoch = value
                case "ua": userAgent = value
                case "ip": ipAddress = value
                default: break
                }
            }
        } catch {
            return nil
        }
        guard version == .int(Self.formatVersion),
            let createdAt = created?.doubleValue, createdAt.isFinite,
            case .object(let values)? = data,
            let flashNew = Self.keys(flashNew), let flashOld = Self.keys(flashOld)
        else { return nil }
        self.createdAt = createdAt
        self.values = values
        self.flashNew = flashNew
        self.flashOld = flashOld
        self.owner = owner?.stringValue
        self.ownerEpoch = ownerEpoch?.intValue
        self.userAgent = userAgent?.stringValue
        self.ipAddress = ipAddress?.stringValue
    }

    private static func keys(_ value: SessionValue?) -> [String]? {
        guard let value else { return [] }
        guard case .array(let elements) = value else { return nil }
        var keys = [String]()
        for element in elements {
            guard case .string(let key) = element else { return nil }
            keys.append(key)
        }
        return keys
    }
}
