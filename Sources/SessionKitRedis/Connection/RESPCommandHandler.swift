#if Redis
import NIOCore

/// A command on its way into a channel, with the promise its reply completes.
struct RESPRequest: Sendable {
    /// The encoded command.
    var command: RESPCommand
    /// Completed with the reply (an error reply included), or failed when the
    /// connection times out or closes first.
    var promise: EventLoopPromise<RESPValue>
    /// How long the reply may take before the connection is closed.
    var timeout: TimeAmount
}

/// Writes commands and hands each reply to the command that is waiting for it.
///
/// Redis answers pipelined commands in order, so the handler keeps a FIFO of
/// pending promises and completes the oldest with each reply. Replies are
/// positional: once one is lost (a timeout) or unreadable (a malformed reply),
/// no later reply can be matched to its command, so the handler fails every
/// pending command and closes the channel (like RediStack's
/// `RedisCommandHandler._failCommandQueue`). It never reconnects; the pool
/// replaces closed connections.
///
/// Timeouts cost one timer per connection, not one per command: the timer is
/// armed for the oldest pending command's deadline and, when it fires, either
/// times the connection out (that command is still waiting) or re-arms for the
/// deadline of the command now oldest. Every command on a connection has the same
/// timeout, so the deadlines are in queue order and each is kept to the tick.
///
/// It runs on its channel's event loop only, like every channel handler.
final class RESPCommandHandler: ChannelDuplexHandler {
    typealias InboundIn = RESPValue
    typealias OutboundIn = RESPRequest
    typealias OutboundOut = ByteBuffer

    private struct Pending {
        var promise: EventLoopPromise<RESPValue>
        var deadline: NIODeadline
    }

    private var pending = CircularBuffer<Pending>()
    /// Armed while commands are pending (it may outlive them by one firing).
    private var timer: Scheduled<Void>?
    /// Set once the connection fails or closes; later commands fail with it at once.
    private var closedError: RESPConnectionError?
    private var context: ChannelHandlerContext?

    init() {}

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        failAll(with: RESPConnectionError.closed)
        self.context = nil
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let request = unwrapOutboundIn(data)
        if let closedError {
            request.promise.fail(closedError)
            promise?.fail(closedError)
            return
        }
        let deadline = context.eventLoop.now + request.timeout
        pending.append(Pending(promise: request.promise, deadline: deadline))
        if timer == nil { armTimer(for: deadline, on: context.eventLoop) }
        context.write(wrapOutboundOut(request.command.encoded), promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let reply = unwrapInboundIn(data)
        guard let head = pending.popFirst() else {
            // Without a command to match, the stream is out of step; nothing after this can be trusted.
            close(context: context, failingWith: RESPError("a reply arrived with no command waiting for it"))
            return
        }
        head.promise.succeed(reply)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // The decoder throws on a malformed reply; the next reply's start is unknown after that.
        close(context: context, failingWith: error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        failAll(with: RESPConnectionError.closed)
        context.fireChannelInactive()
    }

    private func armTimer(for deadline: NIODeadline, on eventLoop: any EventLoop) {
        let handler = NIOLoopBound(self, eventLoop: eventLoop)
        timer = eventLoop.scheduleTask(deadline: deadline) {
            handler.value.timerFired()
        }
    }

    private func timerFired() {
        timer = nil
        guard let head = pending.first, let context else { return }
        if head.deadline <= context.eventLoop.now {
            close(context: context, failingWith: RESPConnectionError.timedOut)
        } else {
            armTimer(for: head.deadline, on: context.eventLoop)
        }
    }

    private func close(context: ChannelHandlerContext, failingWith error: any Error) {
        failAll(with: error)
        context.close(promise: nil)
    }

    private func failAll(with error: any Error) {
        closedError = closedError ?? RESPConnectionError.closed
        timer?.cancel()
        timer = nil
        while let entry = pending.popFirst() {
            entry.promise.fail(error)
        }
    }
}
#endif  // Redis
