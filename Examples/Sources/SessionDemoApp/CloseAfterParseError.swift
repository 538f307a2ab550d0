import NIOCore
import NIOHTTP1

/// Closes a connection whose request NIO's HTTP parser refused, once Hummingbird
/// has answered it.
///
/// On a parse error (a header over its limit, bytes that are not HTTP)
/// Hummingbird 2.28 writes `400` with `Connection: close`, then only half-closes
/// the connection and waits for the channel to close. It has stopped reading, so
/// it never sees the client close: the socket and everything read into it stay
/// until the idle timeout. Under a flood of such requests that is thousands of
/// connections (+123 MB resident after 100,000 garbage requests, most of it
/// held by connections the demo had already answered). This handler turns that
/// half-close into a full close on such connections only; every other
/// connection closes as Hummingbird decides.
///
/// It sits behind the HTTP codec (`HTTP1Channel.Configuration.additionalChannelHandlers`),
/// so it sees the decoder's error on the way in and Hummingbird's close on the
/// way out; it passes every read and write through untouched.
final class CloseAfterParseError: ChannelDuplexHandler, RemovableChannelHandler {
    // Both are only named for the protocol: the handler never unwraps data.
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer

    private var refused = false

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if error is HTTPParserError { refused = true }
        context.fireErrorCaught(error)
    }

    func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        // The 400 was written and flushed before Hummingbird closes its output.
        context.close(mode: refused && mode == .output ? .all : mode, promise: promise)
    }
}
