import Foundation
import SessionKit

extension SessionStoreConformance {
    /// The checks of what users see through a ``SessionKit/SessionEngine`` running
    /// over the store: values round-trip exactly, concurrent requests lose no
    /// update, removed sessions stay removed, regeneration moves the data, and an
    /// unchanged request writes nothing.
    ///
    /// Each check drives requests the way an adapter does: it loads a session from
    /// a `Cookie` header, changes it, commits it, and sends the token from the
    /// commit result back as the next request's cookie.
    public static var engineChecks: [Check] {
        engineChecks(encryption: nil)
    }

    /// ``engineChecks`` again with ``SessionKit/SessionEngine/Configuration/payloadEncryption``
    /// on (names ending in `(payload encrypted)`), and the checks of the encryption
    /// itself: the store holds no plaintext, and a tampered payload or one copied
    /// under another session's key is no session. They show that the store keeps
    /// sealed, binary payloads byte for byte.
    public static var encryptedEngineChecks: [Check] {
        // A fresh random key per suite: the checks never depend on a known key.
        let encryption = try? SessionPayloadEncryption(keys: [.generate(id: "conformance")])
        guard let encryption else { return [] }
        return engineChecks(encryption: encryption) + encryptionChecks(encryption)
    }

    /// The engine checks over an engine that encrypts payloads with `encryption`, or not at all.
    static func engineChecks(encryption: SessionPayloadEncryption?) -> [Check] {
        let suffix = encryption == nil ? "" : " (payload encrypted)"
        let makeEngine: @Sendable (any SessionStore, Int) throws -> SessionEngine = { store, maximumConflictRetries in
            try Self.makeEngine(store, maximumConflictRetries: maximumConflictRetries, encryption: encryption)
        }
        return [
            Check("every value kind round-trips exactly through the engine" + suffix) { store in
                let engine = try makeEngine(store, 32)
                let first = try await engine.load(cookieHeader: nil)
                for (key, value) in sampleValues { first.put(key, value) }
                try first.put("codable", encoding: sampleProfile)
                let created = try await engine.commit(first)
                try expect(created.action == .created, "committing a new session with values did \(created.action), expected created")

                let second = try await engine.load(cookieHeader: try cookie(engine, created))
                try expect(second.isLoaded, "the session saved in the first request did not load in the second")
                for (key, value) in sampleValues {
                    guard let loaded = second.get(key) else {
                        throw fail("the value under \(describe(key)) did not come back")
                    }
                    try expect(loaded == value, "the value under \(describe(key)) came back as \(loaded.jsonText), saved \(value.jsonText)")
                    try expect(
                        isIdentical(loaded, value),
                        "the value under \(describe(key)) came back with other bytes or another kind: \(loaded.jsonText), saved \(value.jsonText)"
                    )
                }
                let profile = try second.get("codable", as: SampleProfile.self)
                try expect(profile == sampleProfile, "the Codable value came back as \(String(describing: profile))")
                let negativeZero = second.get("double.negativeZero")?.doubleValue
                try expect(negativeZero?.sign == .minus, "-0.0 came back as \(String(describing: negativeZero)), without its sign")
            },

            Check("concurrent increments of one session all land" + suffix) { store in
                // Fifty writers on one session is far beyond what a browser does; the
                // check is about losing nothing, so the retry bound is raised out of the way
                // (the default, 32, is checked by the engine's own tests).
                let engine = try makeEngine(store, 1_000)
                let first = try await engine.load(cookieHeader: nil)
                first.put("count", .int(0))
                let header = try cookie(engine, try await engine.commit(first))

                try await withThrowingTaskGroup(of: Void.self) { group in
                    for _ in 0..<incrementingTasks {
                        group.addTask {
                            for _ in 0..<incrementsPerTask {
                                let session = try await engine.load(cookieHeader: header)
                                try expect(session.isLoaded, "the session did not load during the concurrent increments")
                                // A handler that awaits lets the other requests run between this one's load and commit.
                                await Task.yield()
                                session.increment("count")
                                let result = try await engine.commit(session)
                                try expect(result.action == .saved, "an increment's commit did \(result.action), expected saved")
                            }
                        }
                    }
                    try await group.waitForAll()
                }

                let total = incrementingTasks * incrementsPerTask
                let last = try await engine.load(cookieHeader: header)
                let count = last.get("count")?.intValue
                try expect(
                    count == Int64(total),
                    "\(total) increments from \(incrementingTasks) concurrent tasks ended at \(count.map(String.init) ?? "nil"); updates were lost"
                )
            },

            resurrectionCheck("invalidate", suffix: suffix, encryption: encryption) { $0.invalidate() },
            resurrectionCheck("flush", suffix: suffix, encryption: encryption) { $0.flush() },
            resurrectionCheck("regenerate", suffix: suffix, encryption: encryption) { $0.regenerate() },

            Check("regenerate moves the data to a new token and removes the old record" + suffix) { store in
                let engine = try makeEngine(store, 32)
                let first = try await engine.load(cookieHeader: nil)
                first.put("user", "alice")
                let created = try await engine.commit(first)
                let oldHeader = try cookie(engine, created)
                let oldToken = try token(of: created)

                let second = try await engine.load(cookieHeader: oldHeader)
                second.regenerate()
                let regenerated = try await engine.commit(second)
                try expect(regenerated.action == .regenerated, "committing a regenerated session did \(regenerated.action)")
                let newToken = try token(of: regenerated)
                try expect(newToken != oldToken, "regenerate kept the old token")

                let withOld = try await engine.load(cookieHeader: oldHeader)
                try expect(!withOld.isLoaded, "the old cookie still loads a session after regenerate")
                let withNew = try await engine.load(cookieHeader: try cookie(engine, regenerated))
                try expect(withNew.isLoaded, "the new token loads no session after regenerate")
                try expect(withNew.get("user") == "alice", "the new token's session lost the data: \(withNew.all())")
                let oldRecord = try await store.load(oldToken.key)
                try expect(oldRecord == nil, "the old record is still in the store after regenerate")
            },

            Check("an unchanged request writes nothing" + suffix) { store in
                let engine = try makeEngine(store, 32)
                let first = try await engine.load(cookieHeader: nil)
                first.put("user", "alice")
                let created = try await engine.commit(first)
                let key = try token(of: created).key
                let before = try await loadLive(key, from: store, "right after the engine created the session")

                let second = try await engine.load(cookieHeader: try cookie(engine, created))
                try expect(second.get("user") == "alice", "the session did not load its value")
                let result = try await engine.commit(second)
                try expect(result.action == .none, "committing a session that was only read did \(result.action), expected none")
                try expect(result.setCookies.isEmpty, "committing a session that was only read set cookies: \(result.setCookies.count)")
                let after = try await loadLive(key, from: store, "after a request that only read the session")
                try expect(after.version == before.version, "a request that only read the session changed its version")
                try expect(after.record.data == before.record.data, "a request that only read the session changed its data")
            },
        ]
    }

    /// How many tasks increment one session at once, and how many sequential requests each makes.
    static let incrementingTasks = 50
    static let incrementsPerTask = 20

    /// A request that changes a session loses to a concurrent request that removed it.
    ///
    /// Request A loads the session; request B loads it, runs `remove` and commits;
    /// then A writes and commits. A's commit must fail with
    /// ``SessionKit/SessionStoreError/Code/sessionEnded`` (not be answered as
    /// saved), and the old cookie must load no session.
    static func resurrectionCheck(
        _ what: String,
        suffix: String,
        encryption: SessionPayloadEncryption?,
        remove: @escaping @Sendable (RequestSession) -> Void
    ) -> Check {
        Check("a write racing \(what)() does not bring the session back" + suffix) { store in
            let engine = try makeEngine(store, encryption: encryption)
            let first = try await engine.load(cookieHeader: nil)
            first.put("user", "alice")
            let created = try await engine.commit(first)
            let header = try cookie(engine, created)
            let oldKey = try token(of: created).key

            let requestA = try await engine.load(cookieHeader: header)
            let requestB = try await engine.load(cookieHeader: header)
            try expect(requestA.isLoaded && requestB.isLoaded, "the session did not load in both requests")
            remove(requestB)
            let removed = try await engine.commit(requestB)

            requestA.put("cart", .int(1))
            do {
                let late = try await engine.commit(requestA)
                throw fail("a write committed after a concurrent \(what)() did \(late.action), expected the error sessionEnded")
            } catch let error as SessionStoreError where error.code == .sessionEnded {
                // Its changes were not saved, and it says so (409), rather than answering as if saved.
            }

            let later = try await engine.load(cookieHeader: header)
            try expect(!later.isLoaded, "the old cookie loads a session again after a concurrent \(what)(): \(later.all())")
            let oldRecord = try await store.load(oldKey)
            try expect(oldRecord == nil, "the old record is back in the store after a concurrent \(what)()")
            if let newToken = removed.token {
                let successor = try await engine.load(token: newToken)
                try expect(successor.get("cart") == nil, "the late write landed in the session that replaced the old one")
            }
        }
    }

    /// An engine over `store` with the system clock and cookies for plain HTTP,
    /// encrypting payloads with `encryption` when given.
    static func makeEngine(
        _ store: any SessionStore,
        maximumConflictRetries: Int = 32,
        encryption: SessionPayloadEncryption? = nil
    ) throws -> SessionEngine {
        var configuration = SessionEngine.Configuration(cookie: .init(isSecure: false), maximumConflictRetries: maximumConflictRetries)
        configuration.payloadEncryption = encryption
        return try SessionEngine(store: store, configuration: configuration)
    }

    /// The token a commit put in force, failing the check when there is none.
    static func token(of result: SessionCommitResult, file: String = #fileID, line: Int = #line) throws -> SessionToken {
        guard let token = result.token else {
            throw fail("a commit that did \(result.action) returned no token", file: file, line: line)
        }
        return token
    }

    /// The `Cookie` header a browser sends after receiving `result`.
    static func cookie(_ engine: SessionEngine, _ result: SessionCommitResult, file: String = #fileID, line: Int = #line) throws -> String {
        "\(engine.configuration.cookie.effectiveName)=\(try token(of: result, file: file, line: line).cookieValue)"
    }

    /// Whether two values are the same kind with the same content, strings compared
    /// byte for byte (Swift's `==` treats canonically equivalent strings as equal)
    /// and doubles bit for bit (`==` treats -0.0 and 0.0 as equal).
    static func isIdentical(_ lhs: SessionValue, _ rhs: SessionValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): return true
        case (.bool(let left), .bool(let right)): return left == right
        case (.int(let left), .int(let right)): return left == right
        case (.double(let left), .double(let right)): return left.bitPattern == right.bitPattern
        case (.string(let left), .string(let right)): return left.utf8.elementsEqual(right.utf8)
        case (.array(let left), .array(let right)):
            return left.count == right.count && zip(left, right).allSatisfy { isIdentical($0, $1) }
        case (.object(let left), .object(let right)):
            guard left.count == right.count else { return false }
            return left.allSatisfy { key, value in
                guard let index = right.index(forKey: key) else { return false }
                return right[index].key.utf8.elementsEqual(key.utf8) && isIdentical(value, right[index].value)
            }
        default: return false
        }
    }

    /// A key as it appears in a failure message.
    static func describe(_ key: String) -> String {
        SessionValue.string(key).jsonText
    }

    /// One value of every kind, under descriptive keys.
    static var sampleValues: [String: SessionValue] {
        var values: [String: SessionValue] = [
            "string.empty": "",
            "string.ascii": "hello, world",
            "string.emoji": "😀 👩‍👩‍👧‍👦 🇫🇷 🏳️‍🌈",
            "string.combining": "e\u{301} a\u{308}\u{323} Z\u{335}\u{30C}",
            "string.precomposed": "\u{E9}",
            "string.rtl": "שלום עולם مرحبا \u{200F}\u{202E}",
            "string.nul": "a\u{0}b\u{0}",
            "string.controls": .string(String(decoding: (1...31).map { UInt8($0) } + [0x7F], as: UTF8.self)),
            "string.separators": "line\u{2028}paragraph\u{2029}end",
            "string.quotes": "\"quoted\" 'single' \\backslash\\ \\\" \\u0041 /slash",
            "string.bom": "\u{FEFF}leading byte order mark",
            "string.astral": "\u{10FFFF}\u{1D11E}\u{E000}",
            "string.json": "{\"not\":\"parsed\"}",
            "int.min": .int(.min),
            "int.max": .int(.max),
            "int.zero": .int(0),
            "int.minusOne": .int(-1),
            "double.tenth": .double(0.1),
            "double.negativeZero": .double(-0.0),
            "double.large": .double(1e300),
            "double.subnormal": .double(.leastNonzeroMagnitude),
            "double.one": .double(1.0),
            "double.negative": .double(-2.5),
            "double.greatest": .double(.greatestFiniteMagnitude),
            "bool.true": .bool(true),
            "bool.false": .bool(false),
            "null": .null,
            "array.empty": .array([]),
            "object.empty": .object([:]),
            "array.mixed": [1, 1.0, "1", true, nil, [], [:]],
            "object.mixed": ["int": 1, "double": 1.0, "string": "1", "null": nil, "unicode key ü 😀": "value", "": "empty key"],
            "ключ 😀 مفتاح": "a non-ASCII key",
        ]
        var nestedArray: SessionValue = "bottom"
        var nestedObject: SessionValue = ["bottom": .int(20)]
        for level in 0..<20 {
            nestedArray = .array([nestedArray, .int(Int64(level))])
            nestedObject = .object(["level\(level)": nestedObject, "double": .double(Double(level) + 0.5)])
        }
        values["array.nested20"] = nestedArray
        values["object.nested20"] = nestedObject
        return values
    }

    /// A `Codable` value stored with `put(_:encoding:)` and read with `get(_:as:)`.
    struct SampleProfile: Codable, Equatable, Sendable {
        var name: String
        var age: Int
        var score: Double
        var isAdmin: Bool
        var tags: [String]
        var limits: [String: Int]
        var nickname: String?
        var joined: Date
    }

    static let sampleProfile = SampleProfile(
        name: "Zoë 山田 😀",
        age: 42,
        score: 0.1,
        isAdmin: false,
        tags: ["a", "\u{2028}", ""],
        limits: ["daily": 10, "min": Int.min],
        nickname: nil,
        joined: Date(timeIntervalSinceReferenceDate: 123_456.5)
    )
}
