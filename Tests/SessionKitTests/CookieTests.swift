import Foundation
import Testing

@testable import SessionKit

@Suite struct CookieTests {}

// MARK: - Parsing the Cookie header

extension CookieTests {
    @Suite struct CookieHeaderParseTests {
        /// One `Cookie` header and the pairs it must yield.
        struct ParseCase: Sendable, CustomTestStringConvertible {
            var label: String
            var header: String
            var pairs: [[String]]

            var testDescription: String { label }
        }

        static let cases: [ParseCase] = [
            ParseCase(label: "empty header", header: "", pairs: []),
            ParseCase(label: "one pair", header: "a=b", pairs: [["a", "b"]]),
            ParseCase(label: "two pairs", header: "a=b; c=d", pairs: [["a", "b"], ["c", "d"]]),
            ParseCase(label: "no space after semicolon", header: "a=b;c=d", pairs: [["a", "b"], ["c", "d"]]),
            ParseCase(label: "spaces and tabs around pairs", header: " \t a=b \t;\tc=d\t ", pairs: [["a", "b"], ["c", "d"]]),
            ParseCase(label: "spaces around the equals sign", header: "a = b", pairs: [["a", "b"]]),
            ParseCase(label: "space inside a value is kept", header: "a=b c", pairs: [["a", "b c"]]),
            ParseCase(label: "quoted value loses its quotes", header: "a=\"quoted\"", pairs: [["a", "quoted"]]),
            ParseCase(label: "quoted value with spaces outside the quotes", header: "a= \"q\" ", pairs: [["a", "q"]]),
            ParseCase(label: "empty quoted value", header: "a=\"\"", pairs: [["a", ""]]),
            ParseCase(label: "lone double quote is a value", header: "a=\"", pairs: [["a", "\""]]),
            ParseCase(label: "unbalanced opening quote is kept", header: "a=\"x", pairs: [["a", "\"x"]]),
            ParseCase(label: "unbalanced closing quote is kept", header: "a=x\"", pairs: [["a", "x\""]]),
            ParseCase(label: "only one pair of quotes is removed", header: "a=\"\"x\"\"", pairs: [["a", "\"x\""]]),
            ParseCase(label: "equals signs in the value", header: "a=b=c==", pairs: [["a", "b=c=="]]),
            ParseCase(label: "empty value", header: "a=; b=c", pairs: [["a", ""], ["b", "c"]]),
            ParseCase(label: "piece without equals is skipped", header: "a; b=c; d", pairs: [["b", "c"]]),
            ParseCase(label: "empty name is skipped", header: "=b; c=d", pairs: [["c", "d"]]),
            ParseCase(label: "blank name is skipped", header: " \t=b; c=d", pairs: [["c", "d"]]),
            ParseCase(label: "empty pieces are skipped", header: ";;; a=b ;; ; ", pairs: [["a", "b"]]),
            ParseCase(label: "only separators", header: ";=;= ;", pairs: []),
            ParseCase(label: "duplicate names are all kept in order", header: "a=1; b=2; a=3", pairs: [["a", "1"], ["b", "2"], ["a", "3"]]),
            ParseCase(label: "names are case-sensitive", header: "A=1; a=2", pairs: [["A", "1"], ["a", "2"]]),
            ParseCase(label: "NUL bytes are kept", header: "a\u{0}=b\u{0}c; d=e", pairs: [["a\u{0}", "b\u{0}c"], ["d", "e"]]),
            ParseCase(label: "control characters are kept", header: "a=\u{1}\u{7F}\r\n", pairs: [["a", "\u{1}\u{7F}\r\n"]]),
            ParseCase(label: "non-ASCII names and values", header: "café=über; 名前=値", pairs: [["café", "über"], ["名前", "値"]]),
            ParseCase(label: "combining mark after a separator", header: "a=\u{301}b;\u{301}c=d", pairs: [["a", "\u{301}b"], ["\u{301}c", "d"]]),
            ParseCase(
                label: "invalid UTF-8 becomes replacement characters",
                header: invalidUTF8Header,
                pairs: [["k", "\u{FFFD}\u{FFFD}x"], ["\u{FFFD}", "v"]]
            ),
        ]

        /// `k=<0xC0 0xFF>x; <0x80>=v`: bytes that are not UTF-8, decoded the way a server decodes them.
        static let invalidUTF8Header = String(
            decoding: Array("k=".utf8) + [0xC0, 0xFF] + Array("x; ".utf8) + [0x80] + Array("=v".utf8),
            as: UTF8.self
        )

        @Test(arguments: cases)
        func headerParsesIntoPairs(_ parseCase: ParseCase) {
            let pairs = CookieHeader.parse(parseCase.header).map { [String($0.name), String($0.value)] }
            #expect(pairs == parseCase.pairs)
        }

        @Test func parsingASubstringKeepsItsBounds() {
            let line = "Cookie: a=b; c=d"
            let header = line.dropFirst("Cookie: ".count)
            let pairs = CookieHeader.parse(header)
            #expect(pairs.map(\.name) == ["a", "c"])
            #expect(pairs.map(\.value) == ["b", "d"])
        }

        @Test func everyByteValueParsesWithoutCrashing() {
            for byte in UInt8.min...UInt8.max {
                let header = String(decoding: Array("a=".utf8) + [byte] + Array("; b=".utf8) + [byte, byte], as: UTF8.self)
                let pairs = CookieHeader.parse(header)
                #expect(pairs.contains { $0.name == "a" }, "byte \(byte)")
            }
        }

        @Test func everyHighByteParsesAsReplacementCharacter() {
            let bytes = Array("a=".utf8) + Array(UInt8(0x80)...UInt8(0xFF))
            let pairs = CookieHeader.parse(String(decoding: bytes, as: UTF8.self))
            #expect(pairs.count == 1)
            #expect(pairs.first?.value.unicodeScalars.allSatisfy { $0 == "\u{FFFD}" } == true)
        }

        @Test func threeThousandPairsAreAllRead() {
            let header = (0..<3000).map { "cookie\($0)=value\($0)" }.joined(separator: "; ")
            let pairs = CookieHeader.parse(header)
            #expect(pairs.count == 3000)
            #expect(pairs.first.map { [String($0.name), String($0.value)] } == ["cookie0", "value0"])
            #expect(pairs.last.map { [String($0.name), String($0.value)] } == ["cookie2999", "value2999"])
        }

        @Test func eightKilobyteValueIsReadWhole() {
            let value = String(repeating: "v", count: 8 * 1024)
            let pairs = CookieHeader.parse("a=1; big=\(value); z=2")
            #expect(pairs.count == 3)
            #expect(pairs[1].name == "big")
            #expect(pairs[1].value.utf8.count == 8 * 1024)
        }

        /// A header that a quadratic parser would take minutes over.
        @Test(arguments: [";", "=", "a", " ", "\"", "a=", "=a;"])
        func megabyteOfOneRepeatedPieceParses(_ piece: String) {
            let header = String(repeating: piece, count: 1_000_000 / piece.utf8.count)
            let pairs = CookieHeader.parse(header)
            #expect(pairs.count <= 1_000_000)
        }
    }
}

// MARK: - Looking one cookie up

extension CookieTests {
    @Suite struct CookieHeaderLookupTests {
        @Test func missingCookieIsAbsent() {
            #expect(CookieHeader.lookup("sid", in: "theme=dark; lang=en") == .absent)
        }

        @Test func emptyHeaderIsAbsent() {
            #expect(CookieHeader.lookup("sid", in: "") == .absent)
        }

        @Test func singleCookieIsFound() {
            #expect(CookieHeader.lookup("sid", in: "theme=dark; sid=abc; lang=en") == .single("abc"))
        }

        @Test func singleCookieValueIsUnquoted() {
            #expect(CookieHeader.lookup("sid", in: "sid=\"abc\"") == .single("abc"))
        }

        @Test func singleCookieWithEmptyValueIsFound() {
            #expect(CookieHeader.lookup("sid", in: "sid=") == .single(""))
        }

        /// Cookie tossing: a sibling subdomain plants a second `sid`; the server cannot tell which is genuine.
        @Test func repeatedCookieIsRepeated() {
            #expect(CookieHeader.lookup("sid", in: "sid=attacker; theme=dark; sid=victim") == .repeated)
        }

        /// Cookie tossing across header lines: the adapter joins them with `"; "` before the lookup.
        @Test func repeatedCookieAcrossJoinedHeaderLinesIsRepeated() {
            let lines = ["sid=victim; theme=dark", "sid=attacker"]
            #expect(CookieHeader.lookup("sid", in: lines.joined(separator: "; ")) == .repeated)
        }

        @Test func repeatedCookieWithIdenticalValuesIsRepeated() {
            #expect(CookieHeader.lookup("sid", in: "sid=abc; sid=abc") == .repeated)
        }

        @Test func namesAreCaseSensitive() {
            #expect(CookieHeader.lookup("sid", in: "SID=abc; Sid=def") == .absent)
        }

        @Test func namesAreComparedByteForByte() {
            // "é" precomposed (U+00E9) and decomposed (e + U+0301) are equal as Swift strings, not as bytes.
            #expect(CookieHeader.lookup("caf\u{E9}", in: "cafe\u{301}=x") == .absent)
        }

        @Test func nameThatIsAPrefixOfAnotherIsNotFound() {
            #expect(CookieHeader.lookup("sid", in: "sid2=abc; xsid=def") == .absent)
        }

        @Test func nameInsideAValueIsNotFound() {
            #expect(CookieHeader.lookup("sid", in: "other=sid=abc") == .absent)
        }

        @Test func hostPrefixedNameDiffersFromUnprefixedName() {
            let header = "sessionkit=planted; __Host-sessionkit=genuine"
            #expect(CookieHeader.lookup("__Host-sessionkit", in: header) == .single("genuine"))
        }

        @Test func lookupInASubstringHeader() {
            let line = "Cookie: sid=abc"
            #expect(CookieHeader.lookup("sid", in: line.dropFirst(8)) == .single("abc"))
        }

        @Test func lookupInThreeThousandPairsFindsTheLast() {
            let header = (0..<3000).map { "cookie\($0)=value\($0)" }.joined(separator: "; ")
            #expect(CookieHeader.lookup("cookie2999", in: header) == .single("value2999"))
        }
    }
}

// MARK: - Validating the configuration

extension CookieTests {
    @Suite struct CookieConfigurationValidationTests {
        /// A configuration that breaks exactly one rule, and what the error must say.
        struct InvalidCase: Sendable, CustomTestStringConvertible {
            var label: String
            var configuration: SessionCookieConfiguration
            var setting: String
            var reasonMentions: String

            var testDescription: String { label }
        }

        static let invalidCases: [InvalidCase] = [
            InvalidCase(label: "empty name", configuration: .init(name: ""), setting: "cookie.name", reasonMentions: "empty"),
            InvalidCase(
                label: "space in name",
                configuration: .init(name: "my session"),
                setting: "cookie.name",
                reasonMentions: "a space at offset 2"
            ),
            InvalidCase(label: "semicolon in name", configuration: .init(name: "a;b"), setting: "cookie.name", reasonMentions: "';'"),
            InvalidCase(label: "equals sign in name", configuration: .init(name: "a=b"), setting: "cookie.name", reasonMentions: "'='"),
            InvalidCase(label: "separator in name", configuration: .init(name: "a(b)"), setting: "cookie.name", reasonMentions: "'('"),
            InvalidCase(label: "line feed in name", configuration: .init(name: "a\nb"), setting: "cookie.name", reasonMentions: "0x0A"),
            InvalidCase(label: "DEL in name", configuration: .init(name: "a\u{7F}"), setting: "cookie.name", reasonMentions: "0x7F"),
            InvalidCase(label: "non-ASCII name", configuration: .init(name: "séance"), setting: "cookie.name", reasonMentions: "non-ASCII"),
            InvalidCase(
                label: "SameSite=None without secure",
                configuration: .init(isSecure: false, sameSite: .none),
                setting: "cookie.sameSite",
                reasonMentions: "SameSite=None"
            ),
            InvalidCase(
                label: "__Host- name with a domain",
                configuration: .init(name: "__Host-sid", domain: "example.com"),
                setting: "cookie.name",
                reasonMentions: "domain"
            ),
            InvalidCase(
                label: "__Host- name without secure",
                configuration: .init(name: "__Host-sid", isSecure: false),
                setting: "cookie.name",
                reasonMentions: "secure"
            ),
            InvalidCase(
                label: "__Host- name with a path other than /",
                configuration: .init(name: "__Host-sid", path: "/app"),
                setting: "cookie.name",
                reasonMentions: "path"
            ),
            InvalidCase(
                label: "lowercase __host- name with a domain",
                configuration: .init(name: "__host-sid", domain: "example.com"),
                setting: "cookie.name",
                reasonMentions: "domain"
            ),
            InvalidCase(
                label: "__Secure- name without secure",
                configuration: .init(name: "__Secure-sid", isSecure: false),
                setting: "cookie.name",
                reasonMentions: "__Secure-"
            ),
            InvalidCase(
                label: "uppercase __SECURE- name without secure",
                configuration: .init(name: "__SECURE-sid", isSecure: false),
                setting: "cookie.name",
                reasonMentions: "__Secure-"
            ),
            InvalidCase(label: "relative path", configuration: .init(path: "app"), setting: "cookie.path", reasonMentions: "start with"),
            InvalidCase(label: "empty path", configuration: .init(path: ""), setting: "cookie.path", reasonMentions: "start with"),
            InvalidCase(label: "semicolon in path", configuration: .init(path: "/a;Domain=evil.com"), setting: "cookie.path", reasonMentions: "';'"),
            InvalidCase(label: "CR LF in path", configuration: .init(path: "/a\r\nSet-Cookie: x=y"), setting: "cookie.path", reasonMentions: "0x0D"),
            InvalidCase(label: "non-ASCII path", configuration: .init(path: "/café"), setting: "cookie.path", reasonMentions: "non-ASCII"),
            InvalidCase(label: "empty domain", configuration: .init(domain: ""), setting: "cookie.domain", reasonMentions: "empty"),
            InvalidCase(
                label: "semicolon in domain",
                configuration: .init(domain: "example.com;Secure"),
                setting: "cookie.domain",
                reasonMentions: "';'"
            ),
            InvalidCase(label: "space in domain", configuration: .init(domain: "example .com"), setting: "cookie.domain", reasonMentions: "space"),
            InvalidCase(
                label: "control character in domain",
                configuration: .init(domain: "example.com\n"),
                setting: "cookie.domain",
                reasonMentions: "0x0A"
            ),
            InvalidCase(label: "non-ASCII domain", configuration: .init(domain: "bücher.example"), setting: "cookie.domain", reasonMentions: "xn--"),
            InvalidCase(
                label: "zero fixed lifetime",
                configuration: .init(lifetime: .fixed(.zero)),
                setting: "cookie.lifetime",
                reasonMentions: "one second"
            ),
            InvalidCase(
                label: "negative fixed lifetime",
                configuration: .init(lifetime: .fixed(.seconds(-60))),
                setting: "cookie.lifetime",
                reasonMentions: "one second"
            ),
            InvalidCase(
                label: "sub-second fixed lifetime",
                configuration: .init(lifetime: .fixed(.milliseconds(500))),
                setting: "cookie.lifetime",
                reasonMentions: "one second"
            ),
        ]

        @Test(arguments: invalidCases)
        func invalidConfigurationNamesTheSetting(_ invalidCase: InvalidCase) {
            let error = #expect(throws: SessionConfigurationError.self) {
                try invalidCase.configuration.validate()
            }
            #expect(error?.setting == invalidCase.setting)
            #expect(error?.reason.contains(invalidCase.reasonMentions) == true, "\(error?.reason ?? "no error")")
        }

        static let validConfigurations: [SessionCookieConfiguration] = [
            SessionCookieConfiguration(),
            SessionCookieConfiguration(name: "app_session-1.0"),
            SessionCookieConfiguration(name: "!#$%&'*+-.^_`|~"),
            SessionCookieConfiguration(name: "__Host-sid"),
            SessionCookieConfiguration(name: "__Secure-sid", path: "/app", domain: "example.com"),
            SessionCookieConfiguration(path: "/app/v1", domain: ".example.com"),
            SessionCookieConfiguration(isSecure: false, isHTTPOnly: false, sameSite: .strict),
            SessionCookieConfiguration(sameSite: .none),
            SessionCookieConfiguration(usesHostPrefix: false),
            SessionCookieConfiguration(lifetime: .browserSession),
            SessionCookieConfiguration(lifetime: .fixed(.seconds(1))),
            SessionCookieConfiguration(lifetime: .twoYears),
        ]

        @Test(arguments: validConfigurations)
        func validConfigurationPasses(_ configuration: SessionCookieConfiguration) throws {
            try configuration.validate()
        }

        @Test func errorDescriptionNamesSettingAndRule() {
            let error = #expect(throws: SessionConfigurationError.self) {
                try SessionCookieConfiguration(isSecure: false, sameSite: .none).validate()
            }
            #expect(error?.description.hasPrefix("invalid configuration: cookie.sameSite: SameSite=None requires secure") == true)
        }
    }
}

// MARK: - The effective name

extension CookieTests {
    @Suite struct CookieEffectiveNameTests {
        struct NameCase: Sendable, CustomTestStringConvertible {
            var label: String
            var configuration: SessionCookieConfiguration
            var effectiveName: String

            var testDescription: String { label }
        }

        static let cases: [NameCase] = [
            NameCase(label: "defaults get the host prefix", configuration: .init(), effectiveName: "__Host-sessionkit"),
            NameCase(label: "prefix turned off", configuration: .init(usesHostPrefix: false), effectiveName: "sessionkit"),
            NameCase(label: "insecure cookie", configuration: .init(isSecure: false), effectiveName: "sessionkit"),
            NameCase(label: "cookie with a domain", configuration: .init(domain: "example.com"), effectiveName: "sessionkit"),
            NameCase(label: "cookie with a narrower path", configuration: .init(path: "/app"), effectiveName: "sessionkit"),
            NameCase(label: "name already __Host-", configuration: .init(name: "__Host-sid"), effectiveName: "__Host-sid"),
            NameCase(label: "name already __host- in lowercase", configuration: .init(name: "__host-sid"), effectiveName: "__host-sid"),
            NameCase(label: "name already __Secure-", configuration: .init(name: "__Secure-sid"), effectiveName: "__Secure-sid"),
        ]

        @Test(arguments: cases)
        func effectiveNameAddsHostPrefixOnlyWhenAllowed(_ nameCase: NameCase) {
            #expect(nameCase.configuration.effectiveName == nameCase.effectiveName)
        }
    }
}

// MARK: - Writing Set-Cookie

extension CookieTests {
    @Suite struct SetCookieSerializationTests {
        /// 2026-11-23T16:00:00Z.
        static let now = Date(timeIntervalSince1970: 1_795_449_600)
        /// Thirty minutes and most of a second after ``now``.
        static let expiresAt = now.addingTimeInterval(1800.9)

        @Test func sessionCookieFollowsSessionByDefault() {
            let header = SessionCookieConfiguration().sessionCookie(value: "abc", expiresAt: Self.expiresAt, now: Self.now)
            #expect(header == "__Host-sessionkit=abc; Path=/; Max-Age=1800; Expires=Mon, 23 Nov 2026 16:30:00 GMT; Secure; HttpOnly; SameSite=Lax")
        }

        @Test func sessionCookieMaxAgeIsNeverNegative() {
            let header = SessionCookieConfiguration().sessionCookie(value: "abc", expiresAt: Self.now.addingTimeInterval(-90), now: Self.now)
            #expect(header == "__Host-sessionkit=abc; Path=/; Max-Age=0; Expires=Mon, 23 Nov 2026 15:58:30 GMT; Secure; HttpOnly; SameSite=Lax")
        }

        @Test func sessionCookieMaxAgeRoundsDown() {
            let header = SessionCookieConfiguration().sessionCookie(value: "abc", expiresAt: Self.now.addingTimeInterval(0.999), now: Self.now)
            #expect(header.contains("; Max-Age=0; Expires=Mon, 23 Nov 2026 16:00:00 GMT;"))
        }

        @Test func sessionCookieForBrowserSessionHasNoExpiry() {
            let configuration = SessionCookieConfiguration(lifetime: .browserSession)
            let header = configuration.sessionCookie(value: "abc", expiresAt: Self.expiresAt, now: Self.now)
            #expect(header == "__Host-sessionkit=abc; Path=/; Secure; HttpOnly; SameSite=Lax")
        }

        @Test func sessionCookieWithFixedLifetimeIgnoresSessionExpiry() {
            let configuration = SessionCookieConfiguration(lifetime: .fixed(.seconds(3600)))
            let header = configuration.sessionCookie(value: "abc", expiresAt: Self.expiresAt, now: Self.now)
            #expect(header == "__Host-sessionkit=abc; Path=/; Max-Age=3600; Expires=Mon, 23 Nov 2026 17:00:00 GMT; Secure; HttpOnly; SameSite=Lax")
        }

        /// Written as 400 days, the most browsers keep.
        @Test func sessionCookieWithTwoYearLifetime() {
            let configuration = SessionCookieConfiguration(lifetime: .twoYears)
            let header = configuration.sessionCookie(value: "abc", expiresAt: Self.expiresAt, now: Self.now)
            #expect(
                header == "__Host-sessionkit=abc; Path=/; Max-Age=34560000; Expires=Tue, 28 Dec 2027 16:00:00 GMT; Secure; HttpOnly; SameSite=Lax"
            )
        }

        @Test func sessionCookieWithDomainHasNoHostPrefix() {
            let configuration = SessionCookieConfiguration(domain: "example.com")
            let header = configuration.sessionCookie(value: "abc", expiresAt: Self.expiresAt, now: Self.now)
            #expect(
                header
                    == "sessionkit=abc; Path=/; Domain=example.com; Max-Age=1800; Expires=Mon, 23 Nov 2026 16:30:00 GMT; Secure; HttpOnly; SameSite=Lax"
            )
        }

        @Test func sessionCookieWithoutHostPrefix() {
            let configuration = SessionCookieConfiguration(usesHostPrefix: false, lifetime: .browserSession)
            let header = configuration.sessionCookie(value: "abc", expiresAt: Self.expiresAt, now: Self.now)
            #expect(header == "sessionkit=abc; Path=/; Secure; HttpOnly; SameSite=Lax")
        }

        @Test func insecureSessionCookieForLocalDevelopment() {
            let configuration = SessionCookieConfiguration(name: "dev", path: "/app", isSecure: false, sameSite: .strict, lifetime: .browserSession)
            let header = configuration.sessionCookie(value: "abc", expiresAt: Self.expiresAt, now: Self.now)
            #expect(header == "dev=abc; Path=/app; HttpOnly; SameSite=Strict")
        }

        @Test func sessionCookieWithoutHTTPOnlyAndSameSiteNone() {
            let configuration = SessionCookieConfiguration(isHTTPOnly: false, sameSite: .none, lifetime: .browserSession)
            let header = configuration.sessionCookie(value: "abc", expiresAt: Self.expiresAt, now: Self.now)
            #expect(header == "__Host-sessionkit=abc; Path=/; Secure; SameSite=None")
        }

        @Test func sessionCookieCarriesARealToken() {
            let token = SessionToken.generate()
            let header = SessionCookieConfiguration(lifetime: .browserSession)
                .sessionCookie(value: token.cookieValue, expiresAt: Self.expiresAt, now: Self.now)
            #expect(CookieSyntax.isValidCookieValue(token.cookieValue))
            #expect(header.hasPrefix("__Host-sessionkit=\(token.cookieValue); Path=/;"))
        }

        @Test func expiredSessionCookieClearsTheCookie() {
            #expect(
                SessionCookieConfiguration().expiredSessionCookie()
                    == "__Host-sessionkit=; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Secure; HttpOnly; SameSite=Lax"
            )
        }

        @Test func expiredSessionCookieKeepsPathAndDomain() {
            let configuration = SessionCookieConfiguration(path: "/app", domain: "example.com", sameSite: .strict, lifetime: .browserSession)
            #expect(
                configuration.expiredSessionCookie()
                    == "sessionkit=; Path=/app; Domain=example.com; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Secure; HttpOnly; SameSite=Strict"
            )
        }

        @Test func readableCookieIsNotHTTPOnly() {
            let header = SessionCookieConfiguration().readableCookie(name: "XSRF-TOKEN", value: "t0k", expiresAt: Self.expiresAt, now: Self.now)
            #expect(header == "XSRF-TOKEN=t0k; Path=/; Max-Age=1800; Expires=Mon, 23 Nov 2026 16:30:00 GMT; Secure; SameSite=Lax")
        }

        @Test func readableCookieWithoutExpiryLastsTheBrowserSession() {
            let header = SessionCookieConfiguration().readableCookie(name: "XSRF-TOKEN", value: "t0k", expiresAt: nil, now: Self.now)
            #expect(header == "XSRF-TOKEN=t0k; Path=/; Secure; SameSite=Lax")
        }

        @Test func readableCookieSharesPathDomainAndPolicy() {
            let configuration = SessionCookieConfiguration(path: "/app", domain: "example.com", isSecure: false, sameSite: .strict)
            let header = configuration.readableCookie(name: "XSRF-TOKEN", value: "t0k", expiresAt: nil, now: Self.now)
            #expect(header == "XSRF-TOKEN=t0k; Path=/app; Domain=example.com; SameSite=Strict")
        }

        @Test func expiredReadableCookieClearsTheCookie() {
            #expect(
                SessionCookieConfiguration().expiredReadableCookie(name: "XSRF-TOKEN")
                    == "XSRF-TOKEN=; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Secure; SameSite=Lax"
            )
        }

        @Test func writtenCookieParsesBack() {
            let header = SessionCookieConfiguration().sessionCookie(value: "abc", expiresAt: Self.expiresAt, now: Self.now)
            let nameAndValue = header.split(separator: ";", maxSplits: 1)[0]
            #expect(CookieHeader.lookup("__Host-sessionkit", in: nameAndValue) == .single("abc"))
        }
    }
}

// MARK: - Cookie syntax

extension CookieTests {
    @Suite struct CookieSyntaxTests {
        @Test(arguments: ["", "abc", "Zm9v_YmFy-", "\"quoted\"", "\"\"", "!#$%&'()*+-./:<=>?@[]^_`{|}~"])
        func cookieOctetsAreValidValues(_ value: String) {
            #expect(CookieSyntax.isValidCookieValue(value))
        }

        @Test(arguments: ["a b", "a;b", "a,b", "a\\b", "a\"b", "\"", "\"a", "a\r\nb", "\u{0}", "é", "\t"])
        func otherCharactersAreInvalidValues(_ value: String) {
            #expect(!CookieSyntax.isValidCookieValue(value))
        }

        @Test func controlCharactersAreNeverCookieOctets() {
            for byte in Array(UInt8(0x00)...UInt8(0x1F)) + [0x7F] {
                #expect(!CookieSyntax.isCookieOctet(byte), "byte \(byte)")
                #expect(!CookieSyntax.isTokenByte(byte), "byte \(byte)")
                #expect(CookieSyntax.isControl(byte), "byte \(byte)")
            }
        }

        @Test func highBytesAreNeverCookieOctets() {
            for byte in UInt8(0x80)...UInt8(0xFF) {
                #expect(!CookieSyntax.isCookieOctet(byte), "byte \(byte)")
                #expect(!CookieSyntax.isTokenByte(byte), "byte \(byte)")
            }
        }

        @Test(arguments: ["a", "XSRF-TOKEN", "__Host-sid", "!#$%&'*+-.^_`|~09AZaz"])
        func tokensAreValidNames(_ name: String) {
            #expect(CookieSyntax.isToken(name))
        }

        @Test(arguments: ["", "a b", "a=b", "a;b", "a:b", "(a)", "a/b", "a\"b", "a\u{0}", "ä"])
        func nonTokensAreInvalidNames(_ name: String) {
            #expect(!CookieSyntax.isToken(name))
        }
    }
}

// MARK: - HTTP dates

extension CookieTests {
    @Suite struct HTTPDateTests {
        struct DateCase: Sendable, CustomTestStringConvertible {
            var secondsSince1970: Double
            var formatted: String

            var testDescription: String { formatted }
        }

        static let cases: [DateCase] = [
            DateCase(secondsSince1970: 0, formatted: "Thu, 01 Jan 1970 00:00:00 GMT"),
            DateCase(secondsSince1970: -1, formatted: "Wed, 31 Dec 1969 23:59:59 GMT"),
            DateCase(secondsSince1970: -0.5, formatted: "Wed, 31 Dec 1969 23:59:59 GMT"),
            DateCase(secondsSince1970: 784_111_777, formatted: "Sun, 06 Nov 1994 08:49:37 GMT"),
            DateCase(secondsSince1970: 951_782_400, formatted: "Tue, 29 Feb 2000 00:00:00 GMT"),
            DateCase(secondsSince1970: 951_827_696, formatted: "Tue, 29 Feb 2000 12:34:56 GMT"),
            DateCase(secondsSince1970: 951_868_800, formatted: "Wed, 01 Mar 2000 00:00:00 GMT"),
            DateCase(secondsSince1970: 1_795_449_415, formatted: "Mon, 23 Nov 2026 15:56:55 GMT"),
            DateCase(secondsSince1970: 1_795_449_415.999, formatted: "Mon, 23 Nov 2026 15:56:55 GMT"),
            DateCase(secondsSince1970: 2_147_483_647, formatted: "Tue, 19 Jan 2038 03:14:07 GMT"),
            DateCase(secondsSince1970: 2_147_483_648, formatted: "Tue, 19 Jan 2038 03:14:08 GMT"),
            DateCase(secondsSince1970: 4_107_456_000, formatted: "Sun, 28 Feb 2100 00:00:00 GMT"),
            DateCase(secondsSince1970: 4_107_542_400, formatted: "Mon, 01 Mar 2100 00:00:00 GMT"),
            DateCase(secondsSince1970: 253_402_300_799, formatted: "Fri, 31 Dec 9999 23:59:59 GMT"),
            DateCase(secondsSince1970: 1e18, formatted: "Fri, 31 Dec 9999 23:59:59 GMT"),
            DateCase(secondsSince1970: -62_135_596_800, formatted: "Mon, 01 Jan 0001 00:00:00 GMT"),
            DateCase(secondsSince1970: -1e18, formatted: "Mon, 01 Jan 0001 00:00:00 GMT"),
            DateCase(secondsSince1970: .nan, formatted: "Mon, 01 Jan 0001 00:00:00 GMT"),
        ]

        @Test(arguments: cases)
        func dateFormatsAsIMFFixdate(_ dateCase: DateCase) {
            #expect(HTTPDate.format(Date(timeIntervalSince1970: dateCase.secondsSince1970)) == dateCase.formatted)
        }

        @Test func unixEpochConstantMatchesFormatter() {
            #expect(HTTPDate.format(Date(timeIntervalSince1970: 0)) == HTTPDate.unixEpoch)
        }

        /// Checks four centuries of dates, a prime step apart, against Foundation's own calendar arithmetic.
        @Test func dateMatchesFoundationCalendar() throws {
            var calendar = Calendar(identifier: .gregorian)
            calendar.timeZone = try #require(TimeZone(identifier: "GMT"))
            let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
            let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
            let start = -2_208_988_800  // 1900-01-01T00:00:00Z
            let end = 10_413_792_000  // 2300-01-01T00:00:00Z
            for seconds in stride(from: start, to: end, by: 3_600_017 * 7) {
                let date = Date(timeIntervalSince1970: Double(seconds))
                let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second, .weekday], from: date)
                let expected =
                    "\(days[parts.weekday! - 1]), \(twoDigits(parts.day!)) \(months[parts.month! - 1]) \(parts.year!) "
                    + "\(twoDigits(parts.hour!)):\(twoDigits(parts.minute!)):\(twoDigits(parts.second!)) GMT"
                #expect(HTTPDate.format(date) == expected)
            }
        }

        /// Checks the calendar part against ISO 8601 text from `Date.ISO8601FormatStyle`.
        @Test func dateMatchesISO8601FormatStyle() {
            let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
            for seconds in stride(from: 0, to: 4_102_444_800, by: 86_400 * 13 + 3_607) {
                let date = Date(timeIntervalSince1970: Double(seconds))
                let iso = date.formatted(.iso8601)  // 2026-11-23T15:56:55Z
                let digits = iso.split { !$0.isNumber }.map(String.init)
                let expected = "\(digits[2]) \(months[Int(digits[1])! - 1]) \(digits[0]) \(digits[3]):\(digits[4]):\(digits[5]) GMT"
                #expect(HTTPDate.format(date).dropFirst(5) == expected[...])
            }
        }

        @Test func civilDateRoundTripsEveryDayOfFourCenturies() {
            // 146,097 days is one full Gregorian cycle; walk it day by day from 2000-03-01.
            var expected = (year: 2000, month: 3, day: 1)
            let daysInMonth = { (year: Int, month: Int) -> Int in
                switch month {
                case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
                case 4, 6, 9, 11: 30
                default: 31
                }
            }
            for day in 11_017..<(11_017 + 146_097) {
                let civil = HTTPDate.civil(fromDaysSince1970: day)
                guard civil == expected else {
                    Issue.record("day \(day): got \(civil), expected \(expected)")
                    return
                }
                expected.day += 1
                if expected.day > daysInMonth(expected.year, expected.month) {
                    expected.day = 1
                    expected.month += 1
                    if expected.month > 12 {
                        expected.month = 1
                        expected.year += 1
                    }
                }
            }
        }

        private func twoDigits(_ value: Int) -> String {
            value < 10 ? "0\(value)" : "\(value)"
        }
    }
}
