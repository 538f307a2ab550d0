import Benchmark
import Foundation
import SessionKit

/// A browser's Cookie header for a site with analytics, preferences and a
/// session: ten cookies, the session one sixth.
let realisticCookieHeader =
    "_ga=GA1.1.1234567890.1700000000; _gid=GA1.1.987654321.1700000000; theme=dark; lang=en-GB; "
    + "XSRF-TOKEN=q3Jx0vM2bq8YzH7cK1nLwE5rT9uP4sA6dF2gH8jK0lZ1xC3vB5nM7qW9eR2tY4uI6oP8aS0dF2gH4jK6lZ8xC0vB2n; "
    + "__Host-sessionkit=Vn4cA2mX7pQ1rT8yK3wE6uJ9bL0zD5fG4hN7sC2vM1x; "
    + "consent=%7B%22analytics%22%3Atrue%2C%22ads%22%3Afalse%7D; _fbp=fb.1.1700000000000.1234567890; "
    + "cart=3; tz=Europe%2FLondon"

func cookieBenchmarks() {
    Benchmark("Cookie:ParseHeader10") { benchmark in
        let header = realisticCookieHeader
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            blackHole(CookieHeader.parse(header))
        }
    }

    Benchmark("Cookie:LookupSession10") { benchmark in
        let header = realisticCookieHeader
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            blackHole(CookieHeader.lookup("__Host-sessionkit", in: header))
        }
    }

    Benchmark("Cookie:SetCookie") { benchmark in
        let configuration = SessionCookieConfiguration()
        let value = SessionToken.generate().cookieValue
        let now = Date(timeIntervalSince1970: 1_700_000_000)
        let expiresAt = now.addingTimeInterval(30 * 60)
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            blackHole(configuration.sessionCookie(value: value, expiresAt: expiresAt, now: now))
        }
    }
}
