#if HummingbirdAuth
public import Hummingbird
public import HummingbirdAuth
public import NIOCore
public import SessionKitHummingbird

/// A ready-made request context with a SessionKit session and HummingbirdAuth's
/// `identity`, for apps that need nothing else.
///
/// ```swift
/// let router = Router(context: BasicSessionKitAuthRequestContext<User>.self)
/// router.add(middleware: SessionKitMiddleware(engine: engine))
/// router.add(middleware: SessionKitAuthenticator(users: userRepository))
/// ```
///
/// Like ``BasicSessionKitRequestContext`` it also carries the client's address,
/// which the middleware records on new sessions when
/// ``SessionMetadataConfiguration/recordsIPAddress`` is on.
public struct BasicSessionKitAuthRequestContext<Identity: Sendable>: SessionKitRequestContext, AuthRequestContext,
    RemoteAddressRequestContext
{
    /// Hummingbird's core context storage.
    public var coreContext: CoreRequestContextStorage
    /// The request's session; set by ``SessionKitMiddleware``.
    public var session: RequestSession
    /// The signed-in user; set by ``SessionKitAuthenticator`` (or another authenticator).
    public var identity: Identity?
    /// The connected client's address, asked of the channel only when read.
    public var remoteAddress: SocketAddress? { channel.remoteAddress }
    private let channel: any Channel

    /// Creates the context for a request.
    ///
    /// - Parameter source: Where the request came from.
    public init(source: Source) {
        self.coreContext = .init(source: source)
        self.session = RequestSession()
        self.identity = nil
        self.channel = source.channel
    }
}
#endif  // HummingbirdAuth
