#if Redis
import NIOCore
import NIOEmbedded
import Testing

@testable import SessionKitRedis

/// The RESP client over an in-memory channel: exact bytes out, replies in, no server.
@Suite struct RESPConnectionTests {
    private func makeConnection(timeout: TimeAmount = .seconds(2)) async throws -> (NIOAsyncTestingChannel, RESPConnection) {
        let channel = try await NIOAsyncTestingChannel { channel in
            try RESPConnection.addHandlers(to: channel.pipeline.syncOperations)
        }
        try await channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 6379)).get()
        return (channel, RESPConnection(channel: channel, commandTimeout: timeout))
    }

    private func written(_ channel: NIOAsyncTestingChannel) async throws -> String {
        String(buffer: try await channel.waitForOutboundWrite(as: ByteBuffer.self))
    }

    @Test func commandIsWrittenAsAnArrayOfBulkStringsAndItsReplyReturned() async throws {
        let (channel, connection) = try await makeConnection()
        let reply = connection.submit(RESPCommand("GET", "foo"))
        #expect(try await written(channel) == "*2\r\n$3\r\nGET\r\n$3\r\nfoo\r\n")

        try await channel.writeInbound(ByteBuffer(string: "$3\r\nbar\r\n"))

        #expect(try await reply.get() == .bulkString(ByteBuffer(string: "bar")))
        #expect(connection.commandsInFlight == 0)
        _ = try await channel.finish()
    }

    @Test func pipelinedCommandsResolveInOrder() async throws {
        let (channel, connection) = try await makeConnection()
        let replies = (0..<5).map { connection.submit(RESPCommand("INCR", .string("counter\($0)"))) }
        for index in 0..<5 {
            #expect(try await written(channel) == "*2\r\n$4\r\nINCR\r\n$8\r\ncounter\(index)\r\n")
        }
        #expect(connection.commandsInFlight == 5)

        // All five replies arrive in one read, as a pipelined server sends them.
        try await channel.writeInbound(ByteBuffer(string: ":10\r\n:11\r\n-ERR no\r\n:13\r\n$-1\r\n"))

        let values = try await replies.asyncMap { try await $0.get() }
        #expect(values == [.integer(10), .integer(11), .error("ERR no"), .integer(13), .null])
        _ = try await channel.finish()
    }

    @Test func replySplitAcrossReadsIsReassembled() async throws {
        let (channel, connection) = try await makeConnection()
        let reply = connection.submit(RESPCommand("HMGET", "k", "d", "v"))
        _ = try await written(channel)
        for byte in "*2\r\n$2\r\nab\r\n$1\r\n7\r\n".utf8 {
            try await channel.writeInbound(ByteBuffer(bytes: [byte]))
        }
        #expect(try await reply.get() == .array([.bulkString(ByteBuffer(string: "ab")), .bulkString(ByteBuffer(string: "7"))]))
        _ = try await channel.finish()
    }

    @Test func malformedReplyFailsEveryPendingCommandAndClosesTheChannel() async throws {
        let (channel, connection) = try await makeConnection()
        let replies = (0..<3).map { _ in connection.submit(RESPCommand("PING")) }
        for _ in 0..<3 { _ = try await written(channel) }

        _ = try? await channel.writeInbound(ByteBuffer(string: "+PONG\r\n!garbage\r\n"))

        #expect(try await replies[0].get() == .simpleString("PONG"))
        for reply in replies.dropFirst() {
            await #expect(throws: RESPError.self) { try await reply.get() }
        }
        try await channel.closeFuture.get()
        #expect(!channel.isActive)
    }

    @Test func channelCloseFailsEveryPendingCommand() async throws {
        let (channel, connection) = try await makeConnection()
        let replies = (0..<3).map { _ in connection.submit(RESPCommand("PING")) }
        for _ in 0..<3 { _ = try await written(channel) }

        try await channel.close()

        for reply in replies {
            await #expect(throws: RESPConnectionError.closed) { try await reply.get() }
        }
    }

    @Test func commandOnAClosedConnectionFailsAtOnce() async throws {
        let (channel, connection) = try await makeConnection()
        try await channel.close()
        await #expect(throws: RESPConnectionError.closed) { try await connection.send(RESPCommand("PING")) }
        #expect(connection.commandsInFlight == 0)
    }

    @Test func timedOutCommandClosesTheConnectionAndFailsTheCommandsBehindIt() async throws {
        let (channel, connection) = try await makeConnection(timeout: .seconds(2))
        let first = connection.submit(RESPCommand("BLPOP", "queue", "0"))
        _ = try await written(channel)
        await channel.testingEventLoop.advanceTime(by: .seconds(1))
        let second = connection.submit(RESPCommand("PING"))
        _ = try await written(channel)

        await channel.testingEventLoop.advanceTime(by: .milliseconds(1_001))

        await #expect(throws: RESPConnectionError.timedOut) { try await first.get() }
        await #expect(throws: RESPConnectionError.timedOut) { try await second.get() }
        try await channel.closeFuture.get()
    }

    @Test func aLaterCommandTimesOutAtItsOwnDeadlineNotAtTheAnsweredOnes() async throws {
        let (channel, connection) = try await makeConnection(timeout: .seconds(2))
        let first = connection.submit(RESPCommand("PING"))
        _ = try await written(channel)
        await channel.testingEventLoop.advanceTime(by: .seconds(1))
        let second = connection.submit(RESPCommand("BLPOP", "queue", "0"))
        _ = try await written(channel)
        try await channel.writeInbound(ByteBuffer(string: "+PONG\r\n"))
        #expect(try await first.get() == .simpleString("PONG"))

        // The first command's deadline passes: the one timer finds the second still in time.
        await channel.testingEventLoop.advanceTime(by: .milliseconds(1_001))
        #expect(channel.isActive, "the second command was timed out at the first one's deadline")

        await channel.testingEventLoop.advanceTime(by: .seconds(1))
        await #expect(throws: RESPConnectionError.timedOut) { try await second.get() }
        try await channel.closeFuture.get()
    }

    @Test func answeredCommandDoesNotTimeOutLater() async throws {
        let (channel, connection) = try await makeConnection(timeout: .seconds(2))
        let reply = connection.submit(RESPCommand("PING"))
        _ = try await written(channel)
        try await channel.writeInbound(ByteBuffer(string: "+PONG\r\n"))
        #expect(try await reply.get() == .simpleString("PONG"))

        await channel.testingEventLoop.advanceTime(by: .seconds(10))

        #expect(channel.isActive, "a timer of an answered command closed the connection")
        _ = try await channel.finish()
    }

    @Test func replyWithNoCommandWaitingClosesTheConnection() async throws {
        let (channel, _) = try await makeConnection()
        _ = try? await channel.writeInbound(ByteBuffer(string: "+OK\r\n"))
        try await channel.closeFuture.get()
        #expect(!channel.isActive)
    }
}

extension Array {
    /// Maps the elements in order with an async transform.
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var results: [T] = []
        results.reserveCapacity(count)
        for element in self { results.append(try await transform(element)) }
        return results
    }
}
#endif  // Redis
