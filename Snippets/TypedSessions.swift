// snippet.hide
#if Hummingbird
import Foundation
import Hummingbird
import SessionKitHummingbird

// snippet.show
// snippet.schema
/// What the app keeps about a visitor, as one versioned value.
struct AppSession: SessionSchema {
    static let sessionKey = "app"  // stored under this key, beside the untyped ones
    static let version = 3
    static let migrations = [
        // Version 1 called it "name".
        SessionMigration(from: 1) { members in
            members["displayName"] = members.removeValue(forKey: "name") ?? ""
        },
        // Version 2 kept a theme string; version 3 has preferences.
        SessionMigration(from: 2) { members in
            let theme = members.removeValue(forKey: "theme") ?? "light"
            members["preferences"] = ["theme": theme, "pageSize": 20]
        },
    ]

    struct Preferences: Codable {
        var theme = "light"
        var pageSize = 20
    }

    var displayName = ""
    var preferences = Preferences()
    var recentlyViewed: [Int] = []
    var referrer: String?  // optional: values stored without it still decode
}
// snippet.end

// snippet.recovery
/// A checkout wizard: a value the app cannot read starts the wizard over,
/// and the user stays signed in.
struct Checkout: SessionSchema {
    static let sessionKey = "checkout"
    static let version = 1
    static let recovery = SessionSchemaRecovery.resetValue  // the default is .startFreshSession
    var step = 1
    var shippingAddress: String?
}
// snippet.end

// snippet.hide
struct Login: Decodable { let name: String, password: String }

func routes(_ router: Router<BasicSessionKitRequestContext>) {
    // snippet.show
    // snippet.read
    router.get("/welcome") { _, context in
        let app = context.session.typed(AppSession.self)  // an older stored version is upgraded first
        return "Hello, \(app.displayName)"
    }
    // snippet.end

    // snippet.update
    router.post("/products/:id/view") { _, context in
        let id = try context.parameters.require("id", as: Int.self)
        try context.session.updateTyped(AppSession.self) { app in
            app.recentlyViewed = Array(([id] + app.recentlyViewed.filter { $0 != id }).prefix(10))
        }
        return HTTPResponse.Status.noContent
    }
    router.post("/preferences") { request, context in
        let preferences = try await request.decode(as: AppSession.Preferences.self, context: context)
        try context.session.updateTyped(AppSession.self) { $0.preferences = preferences }
        return HTTPResponse.Status.noContent
    }
    // snippet.end

    // snippet.set
    router.post("/login") { request, context in
        let login = try await request.decode(as: Login.self, context: context)  // check login.password here
        context.session.regenerate(owner: login.name)
        try context.session.setTyped(AppSession(displayName: login.name))
        return context.session.csrfToken()
    }
    // snippet.end

    // snippet.untyped
    router.post("/coupon/:code") { _, context in
        let code = try context.parameters.require("code")
        context.session["coupon"] = "\(code)"  // put; SessionValue takes string interpolation
        let pageSize = context.session.get("pageSize", as: Int.self, default: 20)  // absent or not an Int: 20
        context.session.flash("status", "Coupon \(code) applied; \(pageSize) items a page.")
        return HTTPResponse.Status.noContent
    }
    router.delete("/coupon") { _, context in
        let coupon = context.session["coupon"]?.stringValue  // get
        context.session["coupon"] = nil  // forget
        return coupon ?? ""
    }
    // snippet.end
    // snippet.hide
}
#endif
