import CBenchmarkSupport
import Foundation
import SessionKit

// What one MemoryStore session costs beyond its own data, measured in a plain
// process (the benchmark runner's malloc interposer adds a header to every
// allocation, which would inflate the figure).
//
// For each N: heap in use (glibc mallinfo2: uordblks + hblkhd) and resident
// memory before and after saving N records of a logged-in session's bytes,
// each record with its own copy of them, as separate requests' saves have.
// Overhead per session = (heap growth - N x data bytes) / N: the dictionary
// slot, the data array's header and malloc's rounding, the expiry heap entry.

/// A logged-in session's bytes, as the engine writes them (95 bytes).
let data = Array(#"{"c":1700000000.25,"d":{"_csrf":"Vn4cA2mX7pQ1rT8yK3wE6uJ9bL0zD5fG4hN7sC2vM1x","user":"alice"},"v":1}"#.utf8)

func heapInUse() -> Int {
    Int(sessionkit_heap_in_use())
}

func residentBytes() -> Int {
    guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
    let fields = text.split(separator: " ")
    guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
    return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
}

let counts = CommandLine.arguments.dropFirst().compactMap { Int($0) }
let sizes = counts.isEmpty ? [1_000, 10_000, 100_000, 1_000_000] : counts
let expiresAt = Date().addingTimeInterval(24 * 3600)

print("data bytes per session: \(data.count)")
print("| sessions | heap growth | heap per session | beyond data (heap) | RSS growth | RSS per session |")
print("|---:|---:|---:|---:|---:|---:|")
for count in sizes {
    try await {
        let store = try MemoryStore(configuration: .init(maximumSessions: count + 1))
        let heapBefore = heapInUse()
        let residentBefore = residentBytes()
        for _ in 0..<count {
            let record = SessionRecord(key: SessionToken.generate().key, data: data.map { $0 }, expiresAt: expiresAt)
            _ = try await store.save(record, expecting: nil)
        }
        let heapGrowth = heapInUse() - heapBefore
        let residentGrowth = residentBytes() - residentBefore
        precondition(store.count == count)
        let perSession = Double(heapGrowth) / Double(count)
        let beyond = perSession - Double(data.count)
        let residentPerSession = Double(residentGrowth) / Double(count)
        print(
            "| \(count) | \(heapGrowth) | \(String(format: "%.1f", perSession)) | \(String(format: "%.1f", beyond)) | "
                + "\(residentGrowth) | \(String(format: "%.1f", residentPerSession)) |"
        )
        withExtendedLifetime(store) {}
    }()
    sessionkit_heap_trim()
}
