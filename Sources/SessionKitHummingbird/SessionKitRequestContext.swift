#if Hummingbird
public import Hummingbird
public import NIOCore
public import SessionKit

/// A Hummingbird request context that carries a SessionKit session.
///
/// Conform your own context by adding one stored property initialised to
/// `RequestSession()`; ``SessionKitMiddleware`` replaces it with the request's
/// loaded session before your handler runs:
///
/// ```swift
/// struct AppContext: SessionKitRequestContext {
///     var coreContext: CoreRequestContextStorage
///     var session = RequestSession()
///     init(source: Source) { coreContext = .init(source: source) }
/// }
/// ```
///
/// The property is named `session`, not `sessions`, so a context can conform
/// to HummingbirdAuth's `SessionRequestContext` as well without a clash.
public protocol SessionKitRequestContext: RequestContext {
    /// The request's session; set by ``SessionKitMiddleware``.
    var session: RequestSession { get set }
}

/// A ready-made request context with a session, for apps that need nothing else.
///
/// It also carries the client's address, which the middleware records on new
/// sessions when ``SessionMetadataConfiguration/recordsIPAddress`` is on.
public struct BasicSessionKitRequestContext: SessionKitRequestContext, RemoteAddressRequestContext {
    /// Hummingbird's core context storage.
    public var coreContext: CoreRequestContextStorage
    /// The request's session; set by ``SessionKitMiddleware``.
    public var session: RequestSession
    /// The connected client's address, asked of the channel only when read.
    public var remoteAddress: SocketAddress? { channel.remoteAddress }
    private let channel: any Channel

    /// Creates the context for a request.
    ///
    /// - Parameter source: Where the request came from.
    public init(source: Source) {
        self.coreContext = .init(source: source)
        self.session = RequestSession()
        self.channel = source.channel
    }
}
#endif  // Hummingbird
