import Testing

@testable import SessionKit

/// The `Origin` parser the CSRF origin layer and `trustedOrigins` use: RFC 6454
/// serializations only, read byte by byte.
@Suite struct CSRFOriginTests {
    @Test(arguments: [
        ("https://example.com", "https://example.com"),
        ("HTTPS://Example.COM", "https://example.com"),
        ("https://example.com:443", "https://example.com"),
        ("http://example.com:80", "http://example.com"),
        ("http://example.com:443", "http://example.com:443"),
        ("https://example.com:8443", "https://example.com:8443"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("https://[::1]", "https://[::1]"),
        ("https://[2001:DB8::1]:8443", "https://[2001:db8::1]:8443"),
        ("https://xn--bcher-kva.example", "https://xn--bcher-kva.example"),
    ])
    func readsAnOrigin(_ text: String, as serialized: String) throws {
        #expect(try #require(CSRFOrigin(parsing: text)).serialized == serialized)
    }

    @Test(arguments: [
        "", "null", "example.com", "ftp://example.com", "https:/example.com", "https://",
        "https://example.com/", "https://example.com/path", "https://example.com?q", "https://example.com#f",
        "https://user@example.com", "https://exa mple.com", "https://example.com\\", "https://:443",
        "https://example.com:", "https://example.com:0", "https://example.com:65536", "https://example.com:+80",
        "https://example.com:8a", "https://[::1", "https://[::1]x", "https://[::1]:", "https://a:b:c",
        "https://bücher.example",
    ])
    func refusesWhatIsNotAnOrigin(_ text: String) {
        #expect(CSRFOrigin(parsing: text) == nil)
    }

    @Test(arguments: [
        ("https://example.com", "example.com", true),
        ("https://example.com", "EXAMPLE.com:443", true),
        ("http://example.com", "example.com:80", true),
        ("http://example.com", "example.com:443", false),
        ("https://example.com:8443", "example.com:8443", true),
        ("https://example.com:8443", "example.com", false),
        ("https://[::1]:8443", "[::1]:8443", true),
        ("https://example.com", "example.com.evil", false),
        ("https://example.com", "example.com/", false),
        ("https://example.com", "", false),
    ])
    func matchesTheHostHeader(_ origin: String, _ host: String, _ matches: Bool) throws {
        #expect(try #require(CSRFOrigin(parsing: origin)).isHost(host) == matches)
    }
}
