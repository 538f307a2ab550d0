import Foundation
import SessionKit
import Testing

/// `session["key"]`, the typed `get` with a default, and interpolated values.
@Suite struct SessionAccessorTests {
    @Test func theSubscriptReadsAndWritesLikeGetAndPut() {
        let session = RequestSession()

        session["user"] = "alice"

        #expect(session["user"] == "alice")
        #expect(session.get("user") == "alice")
        #expect(session.operations == [.set("user", "alice")])
        #expect(session["missing"] == nil)
    }

    @Test func assigningNilThroughTheSubscriptRemovesTheKey() {
        let session = RequestSession()
        session["user"] = "alice"

        session["user"] = nil

        #expect(session.missing("user"))
        #expect(session.operations.last == .remove("user"))
    }

    @Test func assigningNullThroughTheSubscriptKeepsAJSONNull() {
        let session = RequestSession()

        session["user"] = .null

        #expect(session.exists("user") && !session.has("user"))
    }

    @Test func typedGetWithADefaultDecodesThePresentValue() {
        let session = RequestSession()
        session.put("pageSize", 50)
        session.put("tags", ["a", "b"])

        #expect(session.get("pageSize", as: Int.self, default: 20) == 50)
        #expect(session.get("tags", as: [String].self, default: []) == ["a", "b"])
    }

    @Test func typedGetWithADefaultFallsBackForAbsentNullOrOtherShapes() {
        let session = RequestSession()
        session.put("null", nil)
        session.put("text", "not a number")

        #expect(session.get("absent", as: Int.self, default: 20) == 20)
        #expect(session.get("null", as: Int.self, default: 20) == 20)
        #expect(session.get("text", as: Int.self, default: 20) == 20)
    }

    /// The example in ``RequestSession``'s documentation, exactly.
    @Test func theDocumentedFlashWithAnInterpolatedMessageCompiles() {
        let session = RequestSession()
        let name = "Zoë"

        session.flash("success", "Welcome, \(name)")

        #expect(session.getFlash("success") == .string("Welcome, Zoë"))
    }

    @Test func anInterpolatedLiteralIsAStringValue() {
        let count = 3
        let value: SessionValue = "\(count) items"
        #expect(value == .string("3 items"))
    }
}
