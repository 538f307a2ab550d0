import Foundation
import Benchmark
import NIOCore
@_spi(Benchmarks) import SessionKitRedis

/// The Redis store's RESP2 reply decoder on a pipelined read: what one read of a
/// connection carrying 16 requests' answers holds.
func respBenchmarks() {
    // 16 replies as the store's commands get them: a load's array (data, version,
    // expiry, owner), a save script's integer, a touch's OK, a missing key's nil.
    Benchmark("RESP:ParsePipelined16") { (benchmark: Benchmark, reply: ByteBuffer) in
        for _ in benchmark.scaledIterations {
            var buffer = reply
            blackHole(try RESPReplyParsing.decodeReplies(in: &buffer))
        }
    } setup: {
        let data = String(repeating: "x", count: 180)
        let load = "*4\r\n$\(data.utf8.count)\r\n\(data)\r\n$2\r\n17\r\n$13\r\n1795000000000\r\n$-1\r\n"
        let replies = [load, ":18\r\n", "+OK\r\n", "*4\r\n$-1\r\n$-1\r\n$-1\r\n$-1\r\n"]
        var buffer = ByteBuffer()
        for index in 0..<16 { buffer.writeString(replies[index % replies.count]) }
        return buffer
    }

    // A reply far larger than one read: an owner's 20,000-member set (SMEMBERS) in
    // 4 KiB reads. Each read used to parse the reply again from its first byte.
    Benchmark("RESP:LargeArrayIn4KiBReads", configuration: .init(scalingFactor: .one)) { (benchmark: Benchmark, chunks: [ByteBuffer]) in
        for _ in benchmark.scaledIterations {
            blackHole(try RESPReplyParsing.decodeReplies(arrivingIn: chunks))
        }
    } setup: {
        var reply = ByteBuffer()
        reply.writeString("*20000\r\n")
        for index in 0..<20_000 {
            let member = "sessionkit:s:" + String(repeating: "0", count: 52) + String(format: "%012d", index)
            reply.writeString("$\(member.utf8.count)\r\n\(member)\r\n")
        }
        var chunks: [ByteBuffer] = []
        while reply.readableBytes > 0 {
            chunks.append(reply.readSlice(length: min(4096, reply.readableBytes))!)
        }
        return chunks
    }
}
