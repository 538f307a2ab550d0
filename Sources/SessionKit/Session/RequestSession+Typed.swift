import Synchronization

extension RequestSession {
    /// The session's value of a ``SessionSchema`` type, upgraded from an older stored version if need be.
    ///
    /// A session that holds no such value gives `init()`. An older stored value
    /// is migrated and the upgrade is written back when the request commits. A
    /// value that cannot be decoded or migrated follows the schema's
    /// ``SessionSchema/recovery`` and gives `init()`; reading never fails.
    ///
    /// - Parameter type: The schema type.
    /// - Returns: The current value.
    public func typed<Schema: SessionSchema>(_ type: Schema.Type = Schema.self) -> Schema {
        readTyped(Schema.self).value
    }

    /// Reads the ``SessionSchema`` value, lets `body` change it, and records the
    /// members it changed (see ``SessionSchema`` for how these merge with
    /// concurrent requests).
    ///
    /// `body` runs without the session's lock held, so it may use the session.
    /// Only members whose encoding differs from what was read are written;
    /// a change another task of this request made meanwhile to a member that
    /// `body` left alone is kept.
    ///
    /// - Parameters:
    ///   - type: The schema type.
    ///   - body: Changes the value in place.
    /// - Returns: What `body` returns.
    /// - Throws: What `body` throws (nothing is recorded then), or
    ///   ``SessionSchemaError`` when the new value cannot be encoded as an object.
    @discardableResult
    public func updateTyped<Schema: SessionSchema, Result>(
        _ type: Schema.Type,
        _ body: (inout Schema) throws -> Result
    ) throws -> Result {
        let current = readTyped(Schema.self)
        var value = current.value
        let result = try body(&value)
        try writeTyped(value, over: current.members)
        return result
    }

    /// Stores a ``SessionSchema`` value, recording only the members that differ
    /// from the session's current value (see ``SessionSchema`` for how these
    /// merge with concurrent requests).
    ///
    /// - Parameter value: The new value.
    /// - Throws: ``SessionSchemaError`` when the value cannot be encoded as an object.
    public func setTyped<Schema: SessionSchema>(_ value: Schema) throws {
        try writeTyped(value, over: readTyped(Schema.self).members)
    }
}

/// The member of a schema's stored object that holds its version.
let sessionSchemaVersionMember = "$version"

extension RequestSession {
    /// The value and the members it was read from (after an upgrade, the
    /// upgraded ones); `nil` members when the session holds no value.
    private func readTyped<Schema: SessionSchema>(_: Schema.Type) -> (value: Schema, members: [String: SessionValue]?) {
        let key = Schema.sessionKey
        guard let stored = get(key) else { return (Schema(), nil) }
        switch Self.decodeTyped(stored, as: Schema.self) {
        case .current(let value, let members):
            return (value, members)
        case .upgraded(let value, let members):
            // Written back by compare-and-set: on replay it does nothing if
            // another request already changed (or upgraded) the stored value.
            let upgraded = Self.storedObject(members, version: Schema.version)
            state.withLock { $0.apply(.replace(key, expected: stored, with: upgraded)) }
            return (value, members)
        case .unreadable:
            if Schema.recovery == .resetValue {
                state.withLock { $0.apply(.replace(key, expected: stored, with: nil)) }
            } else {
                invalidate()
            }
            return (Schema(), nil)
        }
    }

    /// Records the members of `value` that differ from `base` (the members
    /// read), creating the stored object first when there was none.
    private func writeTyped<Schema: SessionSchema>(_ value: Schema, over base: [String: SessionValue]?) throws {
        let key = Schema.sessionKey
        let members = try Self.members(of: value)
        var operations: [SessionOperation] = []
        let before: [String: SessionValue]
        if let base {
            before = base
        } else {
            // No stored value yet: create the default one only if it is still
            // absent when replayed (another request may have created it), then
            // set what differs from the default, member by member.
            before = try Self.members(of: Schema())
            guard members != before else { return }
            operations.append(.replace(key, expected: nil, with: Self.storedObject(before, version: Schema.version)))
        }
        for (member, newValue) in members.sorted(by: { $0.key < $1.key }) where before[member] != newValue {
            operations.append(.setMember(key, member: member, newValue))
        }
        for member in before.keys.sorted() where members[member] == nil {
            operations.append(.removeMember(key, member: member))
        }
        guard !operations.isEmpty else { return }
        state.withLock { state in
            for operation in operations { state.apply(operation) }
        }
    }

    private enum TypedRead<Schema> {
        case current(Schema, members: [String: SessionValue])
        case upgraded(Schema, members: [String: SessionValue])
        case unreadable
    }

    private static func decodeTyped<Schema: SessionSchema>(_ stored: SessionValue, as _: Schema.Type) -> TypedRead<Schema> {
        guard case .object(var members) = stored,
            case .int(let storedVersion)? = members.removeValue(forKey: sessionSchemaVersionMember),
            storedVersion <= Int64(Schema.version)
        else { return .unreadable }
        var version = storedVersion
        while version < Int64(Schema.version) {
            guard let migration = Schema.migrations.first(where: { Int64($0.fromVersion) == version }) else { return .unreadable }
            do {
                try migration.body(&members)
            } catch {
                return .unreadable
            }
            members[sessionSchemaVersionMember] = nil
            version += 1
        }
        guard let value = try? SessionValue.object(members).decode(as: Schema.self) else { return .unreadable }
        if storedVersion == Int64(Schema.version) { return .current(value, members: members) }
        // Keep the upgrade in the shape the type itself writes, so later diffs compare like with like.
        guard let normalized = try? Self.members(of: value) else { return .unreadable }
        return .upgraded(value, members: normalized)
    }

    private static func members<Schema: SessionSchema>(of value: Schema) throws(SessionSchemaError) -> [String: SessionValue] {
        let encoded: SessionValue
        do {
            encoded = try SessionValue(encoding: value)
        } catch {
            throw SessionSchemaError(code: .encodingFailed, schema: "\(Schema.self)", cause: error)
        }
        guard case .object(let members) = encoded else {
            throw SessionSchemaError(code: .notAnObject, schema: "\(Schema.self)")
        }
        guard members[sessionSchemaVersionMember] == nil else {
            throw SessionSchemaError(code: .reservedMember, schema: "\(Schema.self)")
        }
        return members
    }

    private static func storedObject(_ members: [String: SessionValue], version: Int) -> SessionValue {
        var object = members
        object[sessionSchemaVersionMember] = .int(Int64(version))
        return .object(object)
    }
}
