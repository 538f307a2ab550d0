import SessionKit

extension DemoRoutes {
    /// The JSON API under `/api`.
    static var json: [DemoRoute] {
        [
            DemoRoute("GET", "/api/me") { request in
                // The user the framework's authenticator found; reading never starts a session.
                .json(["user": request.auth.user.map { .string($0.name) } ?? .null])
            },
            DemoRoute("GET", "/api/csrf") { request in
                .json(["token": .string(request.session.csrfToken())])
            },
            DemoRoute("POST", "/api/login", readsBody: true) { request in
                let body: SessionValue
                switch parseJSON(request.body) {
                case .value(let value): body = value
                case .refusal(let refusal): return refusal
                }
                // Unlike the form, the API takes the name exactly as sent.
                guard case .string(let name)? = body.objectValue?["user"], let user = DemoUser(name: name) else {
                    return .json(["error": "body must be {\"user\": \"<1 to 64 characters>\"}"], status: 400)
                }
                // A new token, bound to the user: the session now shows in their list of sessions.
                request.auth.login(user)
                request.session.flash("success", .string("Welcome, \(user.name)"))
                return .json(["ok": true])
            },
            DemoRoute("POST", "/api/logout") { request in
                request.auth.logout()
                return .json(["ok": true])
            },
            DemoRoute("GET", "/api/flash") { request in
                .json(["success": request.session.getFlash("success") ?? .null])
            },
            DemoRoute("GET", "/api/counter") { request in
                .json(["count": request.session.get("count", default: 0)])
            },
            DemoRoute("POST", "/api/counter") { request in
                .json(["count": .int(request.session.increment("count"))])
            },
            DemoRoute("PUT", "/api/values/:key", readsBody: true) { request in
                let value: SessionValue
                switch parseJSON(request.body) {
                case .value(let parsed): value = parsed
                case .refusal(let refusal): return refusal
                }
                request.session.put(valueKey(request.parameters["key"] ?? ""), value)
                return .json(["ok": true])
            },
            DemoRoute("GET", "/api/values/:key") { request in
                .json(["value": request.session.get(valueKey(request.parameters["key"] ?? ""), default: .null)])
            },
        ]
    }

    enum ParsedJSON {
        case value(SessionValue)
        /// The `400` to answer with.
        case refusal(DemoResponse)
    }

    static func parseJSON(_ body: [UInt8]) -> ParsedJSON {
        do {
            return .value(try SessionValue(jsonBytes: body))
        } catch {
            return .refusal(.json(["error": .string("request body is not valid JSON: \(error)")], status: 400))
        }
    }
}
