/// Where the next page of an owner's sessions starts; opaque, made by the store
/// that returned it and valid only for that store.
///
/// The built-in stores put the last key of a page here (SQLite, PostgreSQL,
/// Redis, the file store) or a position in the owner's index (the memory store);
/// never a token.
public struct SessionOwnerCursor: Sendable, Hashable, CustomStringConvertible {
    /// The store's own text.
    public var rawValue: String

    /// Creates a cursor from a store's text.
    ///
    /// - Parameter rawValue: What the store will read back.
    public init(_ rawValue: String) {
        self.rawValue = rawValue
    }

    /// The cursor's text.
    public var description: String { rawValue }
}

/// One page of an owner's sessions, from ``SessionOwnerIndex/sessions(of:limit:cursor:)``.
public struct SessionOwnerPage: Sendable, Hashable {
    /// The most sessions a page of a built-in store holds, and the most index
    /// entries one of their paged calls visits: 1,000.
    public static let maximumLimit = 1_000

    /// The live sessions of this page, in no particular order.
    public var sessions: [StoredSession]
    /// Where the next page starts; `nil` when this is the last page.
    public var nextCursor: SessionOwnerCursor?

    /// Creates a page.
    ///
    /// - Parameters:
    ///   - sessions: The live sessions of the page.
    ///   - nextCursor: Where the next page starts, `nil` after the last.
    public init(sessions: [StoredSession], nextCursor: SessionOwnerCursor?) {
        self.sessions = sessions
        self.nextCursor = nextCursor
    }

    /// `limit` clamped to `1...maximumLimit`, as the built-in stores read it.
    package static func clamped(_ limit: Int) -> Int {
        min(max(limit, 1), maximumLimit)
    }
}

/// What one ``SessionOwnerIndex/deleteSessions(of:except:limit:)`` call did.
public struct SessionOwnerDeletion: Sendable, Hashable {
    /// How many live sessions were deleted.
    public var deleted: Int
    /// Whether the owner may still have sessions (besides the one kept) to delete: call again.
    public var hasMore: Bool

    /// Creates the outcome of a deletion.
    ///
    /// - Parameters:
    ///   - deleted: How many live sessions were deleted.
    ///   - hasMore: Whether sessions may remain.
    public init(deleted: Int, hasMore: Bool) {
        self.deleted = deleted
        self.hasMore = hasMore
    }
}

extension SessionOwnerIndex {
    /// A page cut from ``sessions(of:)``, for a store that implements only that.
    ///
    /// - Warning: O(sessions of the owner) per call, like ``sessions(of:)``;
    ///   implement the requirement to bound it. Pages are in key order, the cursor
    ///   is the last key's hex.
    ///
    /// - Parameters:
    ///   - owner: The owner id.
    ///   - limit: The most sessions to return.
    ///   - cursor: `nil`, or the previous page's cursor.
    /// - Returns: The page.
    /// - Throws: What ``sessions(of:)`` throws.
    public func sessions(of owner: String, limit: Int, cursor: SessionOwnerCursor?) async throws -> SessionOwnerPage {
        let limit = max(limit, 1)
        let all = try await sessions(of: owner).sorted { $0.record.key.hex < $1.record.key.hex }
        let rest = all.filter { cursor == nil || $0.record.key.hex > cursor!.rawValue }
        let page = Array(rest.prefix(limit))
        let next = rest.count > limit ? page.last.map { SessionOwnerCursor($0.record.key.hex) } : nil
        return SessionOwnerPage(sessions: page, nextCursor: next)
    }

    /// Every deletion in one ``deleteSessions(of:except:)`` call, for a store that implements only that.
    ///
    /// - Warning: O(sessions of the owner) in one call, like
    ///   ``deleteSessions(of:except:)``; implement the requirement to bound it.
    ///
    /// - Parameters:
    ///   - owner: The owner id.
    ///   - key: A session to keep, or `nil`.
    ///   - limit: Ignored.
    /// - Returns: Every deletion, and `hasMore` `false`.
    /// - Throws: What ``deleteSessions(of:except:)`` throws.
    public func deleteSessions(of owner: String, except key: SessionKey?, limit: Int) async throws -> SessionOwnerDeletion {
        SessionOwnerDeletion(deleted: try await deleteSessions(of: owner, except: key), hasMore: false)
    }

    /// Every live session of `owner`, read page by page with ``sessions(of:limit:cursor:)``.
    ///
    /// The built-in stores' ``sessions(of:)``. Each store call is bounded; the
    /// whole is O(sessions of the owner) in time and memory.
    ///
    /// - Parameters:
    ///   - owner: The owner id.
    ///   - pageSize: The `limit` of each page. Default 100.
    /// - Returns: Every session live and bound to `owner` throughout, once.
    /// - Throws: What ``sessions(of:limit:cursor:)`` throws.
    public func allSessions(of owner: String, pageSize: Int = 100) async throws -> [StoredSession] {
        var sessions: [StoredSession] = []
        var cursor: SessionOwnerCursor?
        repeat {
            let page = try await self.sessions(of: owner, limit: pageSize, cursor: cursor)
            sessions += page.sessions
            cursor = page.nextCursor
        } while cursor != nil
        return sessions
    }

    /// Deletes every session of `owner` except `key`, with ``deleteSessions(of:except:limit:)`` until none remains.
    ///
    /// The built-in stores' ``deleteSessions(of:except:)``. Each store call is
    /// bounded; the whole is O(sessions of the owner).
    ///
    /// - Parameters:
    ///   - owner: The owner id.
    ///   - key: A session to keep, or `nil`.
    ///   - pageSize: The `limit` of each call. Default 100.
    /// - Returns: How many live sessions were deleted.
    /// - Throws: What ``deleteSessions(of:except:limit:)`` throws.
    @discardableResult
    public func deleteAllSessions(of owner: String, except key: SessionKey?, pageSize: Int = 100) async throws -> Int {
        var deleted = 0
        while true {
            let step = try await deleteSessions(of: owner, except: key, limit: pageSize)
            deleted += step.deleted
            if !step.hasMore { return deleted }
        }
    }
}
