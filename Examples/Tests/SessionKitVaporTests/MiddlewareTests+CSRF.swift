import Foundation
import SessionKit
import SessionKitConformance
import SessionKitVapor
import Testing
import Vapor
import VaporTesting

/// CSRF through the middleware: where the token may come from, and what is refused.
extension MiddlewareTests {
    // MARK: Accepted

    @Test func tokenInTheCSRFHeaderPasses() async throws {
        try await withSessionApp { app in
            let client = try app.testing()
            var jar = CookieJar()
            let token = try await token(client, &jar)

            let response = try await client.send(.POST, "/count", jar: &jar, headers: ["X-CSRF-Token": token])

            #expect(response.status == .ok)
            #expect(response.text == "1")
        }
    }

    @Test func xsrfHeaderFromTheXSRFCookiePasses() async throws {
        try await withSessionApp { app in
            let client = try app.testing()
            var jar = CookieJar()
            _ = try await token(client, &jar)
            let cookieToken = try #require(jar[xsrfCookieName])

            let response = try await client.send(.POST, "/count", jar: &jar, headers: ["X-XSRF-TOKEN": cookieToken])

            #expect(response.status == .ok)
            #expect(response.text == "1")
        }
    }

    @Test func configuredHeaderNamePasses() async throws {
        var configuration = SessionEngine.Configuration()
        configuration.csrf.headerName = "X-Requested-Token"
        try await withSessionApp(configuration: configuration) { app in
            let client = try app.testing()
            var jar = CookieJar()
            let token = try await token(client, &jar)

            let response = try await client.send(.POST, "/count", jar: &jar, headers: ["X-Requested-Token": token])

            #expect(response.status == .ok)
        }
    }

    @Test func urlEncodedFormTokenPassesAndHandlerReadsTheWholeBody() async throws {
        try await withSessionApp { app in
            let client = try app.testing()
            var jar = CookieJar()
            let token = try await token(client, &jar)
            let body = "note=hello+w%C3%B6rld&_token=\(token)&tail=" + String(repeating: "x", count: 100_000)

            let response = try await client.send(
                .POST,
                "/echo",
                jar: &jar,
                headers: ["Content-Type": "application/x-www-form-urlencoded"],
                body: body
            )

            #expect(response.status == .ok)
            #expect(response.text == body)
            #expect(try await count(client, &jar) == "1")
        }
    }

    @Test func multipartFormTokenPasses() async throws {
        try await withSessionApp { app in
            let client = try app.testing()
            var jar = CookieJar()
            let token = try await token(client, &jar)
            let body = [
                "--XyZzY",
                #"Content-Disposition: form-data; name="note""#,
                "",
                "hello",
                "--XyZzY",
                #"Content-Disposition: form-data; name="_token""#,
                "",
                token,
                "--XyZzY--",
                "",
            ].joined(separator: "\r\n")

            let response = try await client.send(
                .POST,
                "/echo",
                jar: &jar,
                headers: ["Content-Type": "multipart/form-data; boundary=XyZzY"],
                body: body
            )

            #expect(response.status == .ok)
            #expect(response.text == body)
        }
    }

    /// Over a real connection a large body reaches the middleware as Vapor's body
    /// stream; the middleware collects it and both a collecting route and a
    /// `.stream` route still read every byte.
    @Test(arguments: ["/echo", "/echo-stream"])
    func streamedFormTokenPassesAndHandlerReadsTheWholeBody(_ path: String) async throws {
        try await withSessionApp { app in
            let client = try app.testing(method: .running(hostname: "127.0.0.1", port: 0))
            var jar = CookieJar()
            let token = try await token(client, &jar)
            let body = "_token=\(token)&tail=" + String(repeating: "y", count: 300_000)

            let response = try await client.send(
                .POST,
                path,
                jar: &jar,
                headers: ["Content-Type": "application/x-www-form-urlencoded"],
                body: body
            )

            #expect(response.status == .ok)
            #expect(response.text == body)
            #expect(try await count(client, &jar) == "1")
        }
    }

    // MARK: Refused

    @Test func postWithoutTokenIsForbidden() async throws {
        try await withSessionApp { app in
            let client = try app.testing()
            var jar = CookieJar()
            _ = try await token(client, &jar)

            let response = try await client.send(.POST, "/count", jar: &jar)

            #expect(response.status == .forbidden)
            #expect(response.text == "missing CSRF token\n")
            #expect(response.headers[.contentType] == ["text/plain; charset=utf-8"])
            #expect(response.headers[.cacheControl] == ["no-store"])
            #expect(response.headers[.setCookie].isEmpty)
            #expect(try await count(client, &jar) == "0")
        }
    }

    /// A token from the attacker's own session must not pass in the victim's.
    @Test func postWithAnotherSessionsTokenIsForbidden() async throws {
        try await withSessionApp { app in
            let client = try app.testing()
            var attacker = CookieJar()
            let attackerToken = try await token(client, &attacker)
            var victim = CookieJar()
            _ = try await token(client, &victim)

            let response = try await client.send(.POST, "/count", jar: &victim, headers: ["X-CSRF-Token": attackerToken])

            #expect(response.status == .forbidden)
            #expect(response.text == "CSRF token mismatch\n")
            #expect(try await count(client, &victim) == "0")
        }
    }

    @Test func refusalIsJSONWhenTheClientAcceptsJSON() async throws {
        try await withSessionApp { app in
            let client = try app.testing()
            var jar = CookieJar()
            _ = try await token(client, &jar)

            let response = try await client.send(.POST, "/count", jar: &jar, headers: ["Accept": "application/json"])

            #expect(response.status == .forbidden)
            #expect(response.text == #"{"error":"missing CSRF token"}"#)
            #expect(response.headers[.contentType] == ["application/json; charset=utf-8"])
        }
    }

    /// Cross-site request forgery from a modern browser: `Sec-Fetch-Site: cross-site`
    /// is refused even when the request carries a valid token.
    @Test func crossSiteFetchIsForbiddenEvenWithAValidToken() async throws {
        try await withSessionApp { app in
            let client = try app.testing()
            var jar = CookieJar()
            let token = try await token(client, &jar)

            let response = try await client.send(
                .POST,
                "/count",
                jar: &jar,
                headers: ["X-CSRF-Token": token, "Sec-Fetch-Site": "cross-site", "Host": "localhost"]
            )

            #expect(response.status == .forbidden)
            #expect(response.text == "cross-origin request refused\n")
            #expect(try await count(client, &jar) == "0")
        }
    }

    /// Cross-site request forgery from a page on another origin: `Origin: http://evil.example`
    /// against `Host: localhost` is refused even when the request carries a valid token.
    @Test func foreignOriginIsForbiddenEvenWithAValidToken() async throws {
        try await withSessionApp { app in
            let client = try app.testing()
            var jar = CookieJar()
            let token = try await token(client, &jar)

            let response = try await client.send(
                .POST,
                "/count",
                jar: &jar,
                headers: ["X-CSRF-Token": token, "Origin": "http://evil.example", "Host": "localhost"]
            )

            #expect(response.status == .forbidden)
            #expect(response.text == "cross-origin request refused\n")
        }
    }

    @Test func sameOriginWithTokenPasses() async throws {
        try await withSessionApp { app in
            let client = try app.testing()
            var jar = CookieJar()
            let token = try await token(client, &jar)

            let response = try await client.send(
                .POST,
                "/count",
                jar: &jar,
                headers: ["X-CSRF-Token": token, "Origin": "http://localhost", "Host": "localhost", "Sec-Fetch-Site": "same-origin"]
            )

            #expect(response.status == .ok)
        }
    }

    @Test func refusedRequestWithoutSessionCreatesNone() async throws {
        let clock = ManualClock()
        let store = try MemoryStore(clock: clock)
        try await withSessionApp(store: store, clock: clock) { app in
            let response = try await app.testing().sendRequest(.POST, "/count")

            #expect(response.status == .forbidden)
            #expect(response.headers[.setCookie].isEmpty)
            #expect(store.count == 0)
        }
    }

    @Test func urlEncodedFormWithoutTokenIsForbidden() async throws {
        try await withSessionApp { app in
            let client = try app.testing()
            var jar = CookieJar()
            _ = try await token(client, &jar)

            let response = try await client.send(
                .POST,
                "/echo",
                jar: &jar,
                headers: ["Content-Type": "application/x-www-form-urlencoded"],
                body: "note=hello&token=nope"
            )

            #expect(response.status == .forbidden)
            #expect(response.text == "missing CSRF token\n")
        }
    }

    /// A form larger than the limit is refused before the handler, whether Vapor
    /// collected it already (in memory) or it streams in over a connection.
    @Test(arguments: [false, true])
    func formTooLargeToCheckIsRefusedWithASayingBody(streamed: Bool) async throws {
        var configuration = SessionEngine.Configuration()
        configuration.csrf.maximumFormBodySize = 1024
        try await withSessionApp(configuration: configuration) { app in
            let client = try streamed ? app.testing(method: .running(hostname: "127.0.0.1", port: 0)) : app.testing()
            var jar = CookieJar()
            let token = try await token(client, &jar)

            let response = try await client.send(
                .POST,
                "/echo",
                jar: &jar,
                headers: ["Content-Type": "application/x-www-form-urlencoded"],
                body: "_token=\(token)&pad=" + String(repeating: "x", count: streamed ? 200_000 : 2048)
            )

            #expect(response.status == .payloadTooLarge)
            #expect(response.text == "form body too large to check the CSRF token\n")
            #expect(response.headers[.setCookie].isEmpty)
            #expect(try await count(client, &jar) == "0")
        }
    }

    /// A form of exactly the limit is read and checked (Vapor's own `collect(max:)` refuses it).
    @Test func formOfExactlyTheLimitPasses() async throws {
        var configuration = SessionEngine.Configuration()
        configuration.csrf.maximumFormBodySize = 4096
        try await withSessionApp(configuration: configuration) { app in
            let client = try app.testing(method: .running(hostname: "127.0.0.1", port: 0))
            var jar = CookieJar()
            let token = try await token(client, &jar)
            let prefix = "_token=\(token)&pad="
            let body = prefix + String(repeating: "x", count: 4096 - prefix.utf8.count)

            let response = try await client.send(
                .POST,
                "/echo-stream",
                jar: &jar,
                headers: ["Content-Type": "application/x-www-form-urlencoded"],
                body: body
            )

            #expect(response.status == .ok)
            #expect(response.text == body)
        }
    }
}
