import Benchmark
import SessionKit

/// About 1 KB of session data of every kind: strings (with escapes and
/// non-ASCII), integers, doubles, booleans, null, arrays and nested objects.
let mixedSessionData: SessionValue = {
    var cart: [SessionValue] = []
    for index in 0..<5 {
        cart.append([
            "sku": .string("SKU-\(100_000 + index)"),
            "quantity": .int(Int64(index + 1)),
            "price": .double(Double(index) * 3.25 + 9.99),
            "giftWrap": .bool(index % 2 == 0),
        ])
    }
    return [
        "user": "alice@example.com",
        "userID": 1_234_567_890,
        "displayName": "Alice \"Al\" Müller — café ☕",
        "roles": ["admin", "editor", "viewer"],
        "cart": .array(cart),
        "preferences": [
            "theme": "dark", "language": "en-GB", "timeZone": "Europe/London",
            "newsletter": true, "beta": false, "pageSize": 50, "fontScale": 1.125,
        ],
        "lastSeen": 1_700_000_000.25,
        "visits": 42,
        "referrer": .null,
        "returnTo": "/account/orders?page=2&sort=date%20desc",
        "flash": ["success": "Saved your changes.\nSee you soon."],
        "recentlyViewed": [
            "/products/espresso-machine-deluxe-3000", "/products/milk-frother-pro",
            "/products/grinder-burr-conical-64mm", "/products/descaling-tablets-12-pack",
        ],
    ]
}()

func codecBenchmarks() {
    // The names carry the JSON's exact size, e.g. `Codec:Encode972B`.
    let size = mixedSessionData.jsonText.utf8.count
    Benchmark("Codec:Encode\(size)B") { benchmark in
        let value = mixedSessionData
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            blackHole(value.jsonText)
        }
    }

    Benchmark("Codec:Decode\(size)B") { benchmark in
        let text = mixedSessionData.jsonText
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            blackHole(try SessionValue(jsonText: text))
        }
    }
}
