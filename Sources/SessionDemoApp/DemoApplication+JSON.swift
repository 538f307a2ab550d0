import HTTPTypes
import Hummingbird
import NIOCore
import SessionKit
import SessionKitHummingbird

extension DemoApplication {
    /// The largest JSON body the demo reads.
    static let maximumBodySize = 64 * 1024

    static func addJSONRoutes(to router: Router<BasicSessionKitRequestContext>) {
        let api = router.group("api")

        api.get("me") { _, context in
            // Reading never starts a session.
            json(["user": context.session.get("user", default: .null)])
        }

        api.get("csrf") { _, context in
            json(["token": .string(context.session.csrfToken())])
        }

        api.post("login") { request, context in
            let body = try await readJSON(request)
            guard case .string(let user)? = body.objectValue?["user"], !user.isEmpty, user.count <= 64 else {
                return json(["error": "body must be {\"user\": \"<1 to 64 characters>\"}"], status: .badRequest)
            }
            context.session.regenerate()
            context.session.put("user", .string(user))
            context.session.flash("success", .string("Welcome, \(user)"))
            return json(["ok": true])
        }

        api.post("logout") { _, context in
            context.session.invalidate()
            return json(["ok": true])
        }

        api.get("flash") { _, context in
            json(["success": context.session.getFlash("success") ?? .null])
        }

        api.get("counter") { _, context in
            json(["count": context.session.get("count", default: 0)])
        }

        api.post("counter") { _, context in
            json(["count": .int(context.session.increment("count"))])
        }

        api.put("values/:key") { request, context in
            let key = try context.parameters.require("key")
            let value = try await readJSON(request)
            context.session.put(valueKey(key), value)
            return json(["ok": true])
        }

        api.get("values/:key") { _, context in
            let key = try context.parameters.require("key")
            return json(["value": context.session.get(valueKey(key), default: .null)])
        }
    }

    /// Values from `/api/values/{key}` live in their own namespace, so a client cannot overwrite `user`.
    static func valueKey(_ key: String) -> String { "values." + key }

    static func readJSON(_ request: Request) async throws -> SessionValue {
        let buffer = try await request.body.collect(upTo: maximumBodySize)
        do {
            return try SessionValue(jsonBytes: buffer.readableBytesView)
        } catch {
            throw HTTPError(.badRequest, message: "request body is not valid JSON: \(error)")
        }
    }

    static func json(_ object: [String: SessionValue], status: HTTPResponse.Status = .ok) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json; charset=utf-8"
        return Response(
            status: status,
            headers: headers,
            body: .init(byteBuffer: ByteBuffer(string: SessionValue.object(object).jsonText))
        )
    }
}
