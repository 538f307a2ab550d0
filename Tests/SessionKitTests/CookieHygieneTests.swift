import Foundation
import Testing

@testable import SessionKit

/// Cookie and CSRF configuration hygiene (issue 16, item 9): what RFC 6265bis,
/// Go's `net/http` and jshttp/cookie refuse or cap, checked through the public API.
/// An operator's bad setting fails at start-up naming the setting and the rule;
/// nothing a caller passes can split a `Set-Cookie` header or write a date or
/// lifetime that browsers would silently drop or shorten.
@Suite struct CookieHygieneTests {}

// MARK: - Start-up validation of the session cookie

extension CookieHygieneTests {
    @Suite struct CookieSettingTests {
        /// A cookie configuration breaking one hygiene rule, and what the error must say.
        struct InvalidCase: Sendable, CustomTestStringConvertible {
            var label: String
            var configuration: SessionCookieConfiguration
            var setting: String
            var reasonMentions: String

            var testDescription: String { label }
        }

        static let longLabel = String(repeating: "a", count: 63)

        static let invalidCases: [InvalidCase] = [
            // Domain: a host name or an IPv4 address; browsers drop the cookie otherwise.
            InvalidCase(label: "domain with a port", configuration: .init(domain: "example.com:8443"), setting: "cookie.domain", reasonMentions: "host name"),
            InvalidCase(label: "IPv6 literal domain", configuration: .init(domain: "[::1]"), setting: "cookie.domain", reasonMentions: "host name"),
            InvalidCase(label: "domain with an empty label", configuration: .init(domain: "example..com"), setting: "cookie.domain", reasonMentions: "empty label"),
            InvalidCase(label: "domain with a trailing dot", configuration: .init(domain: "example.com."), setting: "cookie.domain", reasonMentions: "empty label"),
            InvalidCase(label: "domain that is only a dot", configuration: .init(domain: "."), setting: "cookie.domain", reasonMentions: "empty label"),
            InvalidCase(label: "label starting with a hyphen", configuration: .init(domain: "-example.com"), setting: "cookie.domain", reasonMentions: "hyphen"),
            InvalidCase(label: "label ending with a hyphen", configuration: .init(domain: "example-.com"), setting: "cookie.domain", reasonMentions: "hyphen"),
            InvalidCase(
                label: "label of 64 bytes",
                configuration: .init(domain: longLabel + "a.example.com"),
                setting: "cookie.domain",
                reasonMentions: "63"
            ),
            InvalidCase(label: "slash in domain", configuration: .init(domain: "example.com/app"), setting: "cookie.domain", reasonMentions: "'/'"),
            InvalidCase(label: "IPv4 address out of range", configuration: .init(domain: "256.1.1.1"), setting: "cookie.domain", reasonMentions: "IPv4"),
            InvalidCase(label: "three-part numeric domain", configuration: .init(domain: "10.0.1"), setting: "cookie.domain", reasonMentions: "IPv4"),
            InvalidCase(label: "numeric last label", configuration: .init(domain: "example.123"), setting: "cookie.domain", reasonMentions: "IPv4"),
            InvalidCase(
                label: "domain over 1,024 bytes",
                configuration: .init(domain: Array(repeating: "abcdefg", count: 129).joined(separator: ".")),
                setting: "cookie.domain",
                reasonMentions: "1,024"
            ),
            InvalidCase(
                label: "domain over 253 bytes",
                configuration: .init(domain: Array(repeating: longLabel, count: 4).joined(separator: ".") + ".com"),
                setting: "cookie.domain",
                reasonMentions: "253"
            ),
            // Path: at most 1,024 bytes (RFC 6265bis §5.6); a longer attribute makes browsers ignore it.
            InvalidCase(
                label: "path over 1,024 bytes",
                configuration: .init(path: "/" + String(repeating: "p", count: 1024)),
                setting: "cookie.path",
                reasonMentions: "1,024"
            ),
            // The __Http- and __Host-Http- prefixes (RFC 6265bis draft), matched case-insensitively.
            InvalidCase(
                label: "__Http- name without HttpOnly",
                configuration: .init(name: "__Http-sid", isHTTPOnly: false),
                setting: "cookie.name",
                reasonMentions: "HttpOnly"
            ),
            InvalidCase(
                label: "__Http- name without secure",
                configuration: .init(name: "__Http-sid", isSecure: false),
                setting: "cookie.name",
                reasonMentions: "secure"
            ),
            InvalidCase(
                label: "uppercase __HTTP- name without HttpOnly",
                configuration: .init(name: "__HTTP-sid", isHTTPOnly: false),
                setting: "cookie.name",
                reasonMentions: "HttpOnly"
            ),
            InvalidCase(
                label: "__Host-Http- name without HttpOnly",
                configuration: .init(name: "__Host-Http-sid", isHTTPOnly: false),
                setting: "cookie.name",
                reasonMentions: "HttpOnly"
            ),
            InvalidCase(
                label: "lowercase __host-http- name without HttpOnly",
                configuration: .init(name: "__host-http-sid", isHTTPOnly: false),
                setting: "cookie.name",
                reasonMentions: "HttpOnly"
            ),
            InvalidCase(
                label: "__Host-Http- name with a domain",
                configuration: .init(name: "__Host-Http-sid", domain: "example.com"),
                setting: "cookie.name",
                reasonMentions: "domain"
            ),
        ]

        /// A setting browsers would reject or silently ignore is refused at start-up, named with its rule.
        @Test(arguments: invalidCases)
        func badCookieSettingIsRefusedAtStartUp(_ invalidCase: InvalidCase) {
            let error = #expect(throws: SessionConfigurationError.self) {
                try invalidCase.configuration.validate()
            }
            #expect(error?.setting == invalidCase.setting)
            #expect(error?.reason.contains(invalidCase.reasonMentions) == true, "\(error?.reason ?? "no error")")
        }

        static let validConfigurations: [SessionCookieConfiguration] = [
            .init(domain: "example.com"),
            .init(domain: ".example.com"),
            .init(domain: "EXAMPLE.com"),
            .init(domain: "localhost"),
            .init(domain: "127.0.0.1"),
            .init(domain: "xn--bcher-kva.example"),
            .init(domain: "my_host.example.com"),
            .init(domain: longLabel + ".example.com"),
            .init(path: "/" + String(repeating: "p", count: 1023)),
            .init(name: "__Http-sid"),
            .init(name: "__Host-Http-sid"),
            .init(name: "__http-sid", path: "/app", domain: "example.com"),
        ]

        @Test(arguments: validConfigurations)
        func goodCookieSettingPasses(_ configuration: SessionCookieConfiguration) throws {
            try configuration.validate()
        }

        /// A `__Http-` name is already prefixed: adding `__Host-` in front would lose its meaning.
        @Test func httpPrefixedNameIsSentAsGiven() {
            #expect(SessionCookieConfiguration(name: "__Http-sid").effectiveName == "__Http-sid")
            #expect(SessionCookieConfiguration(name: "__Host-Http-sid").effectiveName == "__Host-Http-sid")
        }
    }
}

// MARK: - Start-up validation of the CSRF settings

extension CookieHygieneTests {
    @Suite struct CSRFSettingTests {
        /// An engine configuration breaking one CSRF hygiene rule.
        struct InvalidCase: Sendable, CustomTestStringConvertible {
            var label: String
            var configure: @Sendable (inout SessionEngine.Configuration) -> Void
            var setting: String
            var reasonMentions: String

            var testDescription: String { label }
        }

        static let invalidCases: [InvalidCase] = [
            // Django allows `https://*.example.com`; here it was kept as a literal that never matches.
            InvalidCase(
                label: "wildcard subdomain origin",
                configure: { $0.csrf.trustedOrigins = ["https://*.example.com"] },
                setting: "csrf.trustedOrigins",
                reasonMentions: "wildcard"
            ),
            InvalidCase(
                label: "wildcard origin",
                configure: { $0.csrf.trustedOrigins = ["https://example.com", "*"] },
                setting: "csrf.trustedOrigins",
                reasonMentions: "wildcard"
            ),
            InvalidCase(
                label: "wildcard port",
                configure: { $0.csrf.trustedOrigins = ["https://example.com:*"] },
                setting: "csrf.trustedOrigins",
                reasonMentions: "wildcard"
            ),
            // The XSRF-TOKEN cookie is readable (never HttpOnly), so these prefixes can never be set.
            InvalidCase(
                label: "__Http- CSRF cookie name",
                configure: { $0.csrf.cookieName = "__Http-XSRF-TOKEN" },
                setting: "csrf.cookieName",
                reasonMentions: "HttpOnly"
            ),
            InvalidCase(
                label: "__Host-Http- CSRF cookie name",
                configure: { $0.csrf.cookieName = "__host-http-XSRF-TOKEN" },
                setting: "csrf.cookieName",
                reasonMentions: "HttpOnly"
            ),
            // It shares the session cookie's Path, Domain and Secure: a __Host- name needs them to qualify.
            InvalidCase(
                label: "__Host- CSRF cookie name with a domain",
                configure: {
                    $0.cookie.domain = "example.com"
                    $0.csrf.cookieName = "__Host-XSRF-TOKEN"
                },
                setting: "csrf.cookieName",
                reasonMentions: "domain"
            ),
            InvalidCase(
                label: "__Secure- CSRF cookie name over plain HTTP",
                configure: {
                    $0.cookie.isSecure = false
                    $0.csrf.cookieName = "__SECURE-XSRF-TOKEN"
                },
                setting: "csrf.cookieName",
                reasonMentions: "secure"
            ),
        ]

        /// A CSRF setting that could never work is refused at start-up, named with its rule.
        @Test(arguments: invalidCases)
        func badCSRFSettingIsRefusedAtStartUp(_ invalidCase: InvalidCase) {
            var configuration = SessionEngine.Configuration()
            invalidCase.configure(&configuration)
            let error = #expect(throws: SessionConfigurationError.self) {
                try configuration.validate()
            }
            #expect(error?.setting == invalidCase.setting)
            #expect(error?.reason.contains(invalidCase.reasonMentions) == true, "\(error?.reason ?? "no error")")
        }

        @Test func prefixedCSRFCookieThatQualifiesPasses() throws {
            var configuration = SessionEngine.Configuration()
            configuration.csrf.cookieName = "__Host-XSRF-TOKEN"
            try configuration.validate()
        }
    }
}

// MARK: - The Set-Cookie writer

extension CookieHygieneTests {
    @Suite struct SetCookieWriterTests {
        /// 2026-11-23T16:00:00Z.
        static let now = Date(timeIntervalSince1970: 1_795_449_600)
        /// 400 days, the longest lifetime browsers keep (RFC 6265bis §5.6.1).
        static let cap = 400 * 86_400

        /// Header injection through a cookie name: a name with CR LF would start a
        /// second header line, an empty one writes `=v` (a nameless cookie). The
        /// writer refuses both as a programming error instead of writing them.
        @Test(arguments: ["a\r\nSet-Cookie: evil=1", "", "a b", "a;b", "a=b", "ä"])
        func readableCookieRefusesANameThatIsNotAToken(_ name: String) async {
            await #expect(processExitsWith: .failure) { [name] in
                _ = SessionCookieConfiguration().readableCookie(name: name, value: "v", expiresAt: nil, now: Date(timeIntervalSince1970: 0))
            }
        }

        @Test(arguments: ["x\r\nSet-Cookie: evil=1", ""])
        func expiredReadableCookieRefusesANameThatIsNotAToken(_ name: String) async {
            await #expect(processExitsWith: .failure) { [name] in
                _ = SessionCookieConfiguration().expiredReadableCookie(name: name)
            }
        }

        /// A configuration that skipped ``SessionCookieConfiguration/validate()`` still cannot inject a header.
        @Test func sessionCookieWithAnUnvalidatedNameIsRefused() async {
            await #expect(processExitsWith: .failure) {
                let configuration = SessionCookieConfiguration(name: "sid\r\nSet-Cookie: evil=1", usesHostPrefix: false)
                _ = configuration.sessionCookie(value: "v", expiresAt: Date(timeIntervalSince1970: 60), now: Date(timeIntervalSince1970: 0))
            }
        }

        struct ExpiryCase: Sendable, CustomTestStringConvertible {
            var label: String
            var expiresAt: Double
            var maxAge: Int
            var expires: String

            var testDescription: String { label }
        }

        /// `Expires` never before 1601-01-01 (a NaN or far-past date wrote year 0001, which
        /// RFC 6265bis parsers refuse) and lifetimes capped at 400 days, with `Max-Age`
        /// and `Expires` saying the same thing.
        static let expiryCases: [ExpiryCase] = [
            ExpiryCase(label: "not a number", expiresAt: .nan, maxAge: 0, expires: "Mon, 01 Jan 1601 00:00:00 GMT"),
            ExpiryCase(label: "far past", expiresAt: -1e18, maxAge: 0, expires: "Mon, 01 Jan 1601 00:00:00 GMT"),
            ExpiryCase(label: "year 1000", expiresAt: -30_610_224_000, maxAge: 0, expires: "Mon, 01 Jan 1601 00:00:00 GMT"),
            ExpiryCase(label: "just past", expiresAt: 1_795_449_600 - 90, maxAge: 0, expires: "Mon, 23 Nov 2026 15:58:30 GMT"),
            ExpiryCase(label: "thirty minutes", expiresAt: 1_795_449_600 + 1800, maxAge: 1800, expires: "Mon, 23 Nov 2026 16:30:00 GMT"),
            ExpiryCase(label: "exactly 400 days", expiresAt: 1_795_449_600 + 34_560_000, maxAge: 34_560_000, expires: "Tue, 28 Dec 2027 16:00:00 GMT"),
            ExpiryCase(label: "1,000 days", expiresAt: 1_795_449_600 + 86_400_000, maxAge: 34_560_000, expires: "Tue, 28 Dec 2027 16:00:00 GMT"),
            ExpiryCase(label: "infinitely far", expiresAt: .infinity, maxAge: 34_560_000, expires: "Tue, 28 Dec 2027 16:00:00 GMT"),
        ]

        @Test(arguments: expiryCases)
        func sessionCookieExpiryIsWhatBrowsersKeep(_ expiryCase: ExpiryCase) {
            let header = SessionCookieConfiguration().sessionCookie(
                value: "abc",
                expiresAt: Date(timeIntervalSince1970: expiryCase.expiresAt),
                now: Self.now
            )
            #expect(header.contains("; Max-Age=\(expiryCase.maxAge); Expires=\(expiryCase.expires);"), "\(header)")
        }

        @Test(arguments: expiryCases)
        func readableCookieExpiryIsWhatBrowsersKeep(_ expiryCase: ExpiryCase) {
            let header = SessionCookieConfiguration().readableCookie(
                name: "XSRF-TOKEN",
                value: "abc",
                expiresAt: Date(timeIntervalSince1970: expiryCase.expiresAt),
                now: Self.now
            )
            #expect(header.contains("; Max-Age=\(expiryCase.maxAge); Expires=\(expiryCase.expires);"), "\(header)")
        }

        /// A fixed lifetime past the cap (``SessionCookieConfiguration/Lifetime/twoYears``) is written as 400 days.
        @Test func fixedLifetimeIsCappedAtFourHundredDays() {
            let header = SessionCookieConfiguration(lifetime: .twoYears).sessionCookie(value: "abc", expiresAt: Self.now, now: Self.now)
            #expect(header.contains("; Max-Age=34560000; Expires=Tue, 28 Dec 2027 16:00:00 GMT;"), "\(header)")
        }
    }
}

// MARK: - Reading the Cookie header

extension CookieHygieneTests {
    @Suite struct CookieHeaderBoundTests {
        /// Memory exhaustion by a header of many tiny pairs (Go's CVE-2025-58186):
        /// parsing keeps at most ``CookieHeader/maximumPairCount`` pairs.
        @Test func parsingStopsAtTheDocumentedNumberOfPairs() {
            let header = (0..<5000).map { "c\($0)=v" }.joined(separator: ";")
            let pairs = CookieHeader.parse(header)
            #expect(pairs.count == 3000)
            #expect(pairs.last.map { String($0.name) } == "c2999")
        }

        /// Cookie tossing past the bound: a duplicate of the session cookie after
        /// thousands of junk pairs must still be noticed, not hidden by the bound.
        @Test func lookupStillNoticesARepeatedCookiePastTheBound() {
            let junk = (0..<4000).map { "j\($0)=v" }.joined(separator: "; ")
            let header = "sid=planted; " + junk + "; sid=genuine"
            #expect(CookieHeader.lookup("sid", in: header) == .repeated)
        }
    }
}
