/// A kind of store call the engine makes, named the same way in logs
/// (`sessionkit.operation`), metric dimensions (`operation`) and span names
/// (`sessionkit.store.<operation>`).
enum StoreOperation: String, CaseIterable, Sendable {
    /// ``SessionStore/load(_:)``.
    case load
    /// ``SessionStore/save(_:expecting:)``.
    case save
    /// ``SessionStore/touch(_:expiresAt:)``.
    case touch
    /// ``SessionStore/delete(_:)``.
    case delete
    /// ``SessionOwnerIndex/sessions(of:limit:cursor:)``: one page.
    case list
    /// ``SessionOwnerIndex/deleteSessions(of:except:limit:)``: one page.
    case deleteOwner = "delete-owner"
    /// The ``CookieStore``'s owner-epoch lookup.
    case ownerEpoch = "owner-epoch"
    /// The ``CookieStore`` sealing a session into its cookie.
    case seal

    /// The operations a backend can perform; metrics are made for these only.
    static func operations(ofCookieStore isCookieStore: Bool) -> [StoreOperation] {
        isCookieStore ? [.ownerEpoch, .seal] : [.load, .save, .touch, .delete, .list, .deleteOwner]
    }

    /// The operation's position in `allCases`, for tables indexed by operation.
    var index: Int {
        switch self {
        case .load: return 0
        case .save: return 1
        case .touch: return 2
        case .delete: return 3
        case .list: return 4
        case .deleteOwner: return 5
        case .ownerEpoch: return 6
        case .seal: return 7
        }
    }

    /// The span name, for example `sessionkit.store.load`; spelled out so no string is built per call.
    var spanName: String {
        switch self {
        case .load: return "sessionkit.store.load"
        case .save: return "sessionkit.store.save"
        case .touch: return "sessionkit.store.touch"
        case .delete: return "sessionkit.store.delete"
        case .list: return "sessionkit.store.list"
        case .deleteOwner: return "sessionkit.store.delete-owner"
        case .ownerEpoch: return "sessionkit.store.owner-epoch"
        case .seal: return "sessionkit.store.seal"
        }
    }
}
