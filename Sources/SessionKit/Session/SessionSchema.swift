/// An app's session described as a `Codable` type, with a schema version and
/// the migrations from earlier versions; read and written with
/// ``RequestSession/typed(_:)``, ``RequestSession/updateTyped(_:_:)`` and
/// ``RequestSession/setTyped(_:)``.
///
/// **Where it is kept.** The value lives under one session key,
/// ``sessionKey``, as the object its `Encodable` conformance writes plus a
/// `"$version"` member: `{"$version": 2, "cart": [3], "displayName": "Ann"}`.
/// The rest of the session (other keys, flash data, the CSRF secret, the
/// owner) is untouched, and the untyped API can still read the object.
///
/// **Upgrades.** A stored value with an older version is passed through
/// ``migrations`` one step at a time (the migration `from: 1` turns a version 1
/// object into a version 2 one), decoded, and written back in the current shape
/// at the end of the request, even when the request changes nothing else.
///
/// **Merge semantics.** A typed write does not store the whole value. It
/// compares the new value's members with those of the value it read and
/// records one ``SessionOperation/setMember(_:member:_:)`` or
/// ``SessionOperation/removeMember(_:member:)`` per top-level member that this
/// request changed, in the same operation log as `put` and `increment`. When
/// another request changed the session meanwhile, the engine replays these on
/// the fresher record, so:
/// - concurrent requests that change *different* members both land;
/// - concurrent requests that change the *same* member: the one committed last
///   wins that member (as two `put`s of one key would); a member is replaced as
///   a whole, so a counter or a list that concurrent requests change belongs in
///   its own key with ``RequestSession/increment(_:by:)`` or ``RequestSession/push(_:_:)``;
/// - the shape-changing steps — creating the value when the session holds none,
///   writing back an upgrade, removing an unreadable value — are
///   ``SessionOperation/replace(_:expected:with:)`` operations: compare-and-set
///   on the whole stored object, replayed only if the record still holds
///   exactly what this request read. So an upgrade replayed after another
///   request already upgraded (and perhaps changed) the value does nothing;
///   this request's member changes then apply on top of the other's;
/// - member changes never resurrect a value that another request removed
///   (`flush`, `forget`, logout): on a record without the object they do nothing.
///
/// **Unreadable values.** A stored value that is not an object, has no
/// version, has a version newer than ``version`` (an app rolled back), lacks a
/// migration step, whose migration throws, or that does not decode after
/// migrating never fails the request: ``recovery`` decides, and the read
/// returns `init()`. The default, ``SessionSchemaRecovery/startFreshSession``,
/// invalidates the whole session (a new token, the old record deleted at
/// commit; the user is signed out), because an app cannot know what else in a
/// session it cannot read is still right. ``SessionSchemaRecovery/resetValue``
/// drops only this value and keeps the rest of the session.
///
/// It does not version the untyped keys, and it does not migrate values that
/// are never read: a stored value is upgraded by the first request that reads it.
///
/// ```swift
/// struct AppSession: SessionSchema {
///     static let sessionKey = "app"
///     static let version = 2
///     static let migrations = [
///         // Version 1 called it "name".
///         SessionMigration(from: 1) { $0["displayName"] = $0.removeValue(forKey: "name") ?? "" },
///     ]
///     var displayName = ""
///     var cart: [Int] = []
/// }
///
/// try context.session.updateTyped(AppSession.self) { $0.cart.append(item.id) }
/// let name = context.session.typed(AppSession.self).displayName
/// ```
public protocol SessionSchema: Codable {
    /// The session key the value is kept under. Choose it once: a value under
    /// another key is not found (and not migrated).
    static var sessionKey: String { get }
    /// The version of the current shape. Start at 1 and add one whenever a
    /// stored value of the previous shape no longer decodes, with a migration
    /// from the previous version.
    static var version: Int { get }
    /// The upgrades from earlier versions, one step each. Default: none.
    static var migrations: [SessionMigration] { get }
    /// What a read does with a stored value it cannot decode or migrate.
    /// Default ``SessionSchemaRecovery/startFreshSession``.
    static var recovery: SessionSchemaRecovery { get }
    /// The value of a session that holds none yet (and after a recovery).
    init()
}

extension SessionSchema {
    /// No migrations: every stored value must already have the current version.
    public static var migrations: [SessionMigration] { [] }
    /// ``SessionSchemaRecovery/startFreshSession``.
    public static var recovery: SessionSchemaRecovery { .startFreshSession }
}

/// One upgrade step of a ``SessionSchema``: turns the members of a stored
/// version `n` object into those of version `n + 1`.
///
/// It works on the stored JSON members, not on the Swift type, because the
/// type of the old shape no longer exists in the app. The `"$version"`
/// member is not among them; the engine sets it.
public struct SessionMigration: Sendable {
    /// The version this step upgrades from.
    public let fromVersion: Int
    let body: @Sendable (inout [String: SessionValue]) throws -> Void

    /// Creates an upgrade step.
    ///
    /// - Parameters:
    ///   - version: The version this step upgrades from (to `version + 1`).
    ///   - body: Changes the members in place; a thrown error makes the value
    ///     unreadable (see ``SessionSchema/recovery``).
    public init(from version: Int, _ body: @escaping @Sendable (inout [String: SessionValue]) throws -> Void) {
        self.fromVersion = version
        self.body = body
    }
}

/// What reading a ``SessionSchema`` does with a stored value it cannot decode
/// or migrate. Either way the read returns the schema's `init()` value and the
/// request goes on; it is never a failed request.
public struct SessionSchemaRecovery: Hashable, Sendable, CustomStringConvertible {
    private let name: String

    /// Invalidate the whole session, as ``RequestSession/invalidate()`` does: the
    /// old record is deleted at commit and the user is signed out (the default).
    public static let startFreshSession = SessionSchemaRecovery(name: "startFreshSession")
    /// Remove only the unreadable value; the rest of the session (sign-in,
    /// CSRF secret, other keys) is kept.
    public static let resetValue = SessionSchemaRecovery(name: "resetValue")

    /// The policy's name.
    public var description: String { name }
}

/// A typed session value that cannot be written.
///
/// Thrown by ``RequestSession/setTyped(_:)`` and
/// ``RequestSession/updateTyped(_:_:)``; the session is left as it was.
public struct SessionSchemaError: Error, CustomStringConvertible, Sendable {
    /// What kind of failure this is.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String

        /// The value's `Encodable` conformance threw (for example for a non-finite double).
        public static let encodingFailed = Code(name: "encodingFailed")
        /// The value does not encode as a JSON object (a schema must be a keyed container).
        public static let notAnObject = Code(name: "notAnObject")
        /// The value encodes a member named `$version`, which holds the schema version.
        public static let reservedMember = Code(name: "reservedMember")

        /// The code's name.
        public var description: String { name }
    }

    /// What kind of failure this is.
    public var code: Code
    /// The schema's type name.
    public var schema: String
    /// The underlying error, kept as it was thrown.
    public var cause: (any Error)?

    /// Creates an error.
    ///
    /// - Parameters:
    ///   - code: What kind of failure this is.
    ///   - schema: The schema's type name.
    ///   - cause: The underlying error, if any.
    public init(code: Code, schema: String, cause: (any Error)? = nil) {
        self.code = code
        self.schema = schema
        self.cause = cause
    }

    /// `"<code>: session schema <schema> (<cause>)"`.
    public var description: String {
        var text = "\(code): session schema \(schema)"
        if let cause { text += " (\(cause))" }
        return text
    }
}
