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
}
