import SessionKit
import Testing

/// The per-owner session limit's configuration (issue 16, item 3); its behaviour
/// is checked on every store by `SessionStoreConformance.ownerIndexChecks`.
@Suite struct OwnerLimitTests {
    @Test func defaultLimitIsOneHundredSessionsPerOwner() {
        #expect(SessionEngine.Configuration().maximumSessionsPerOwner == 100)
    }

    @Test(arguments: [0, -1])
    func limitBelowOneIsRefused(_ limit: Int) {
        var configuration = SessionEngine.Configuration()
        configuration.maximumSessionsPerOwner = limit
        #expect(throws: SessionConfigurationError.self) { try configuration.validate() }
    }

    @Test func noLimitIsAllowed() throws {
        var configuration = SessionEngine.Configuration()
        configuration.maximumSessionsPerOwner = nil
        try configuration.validate()
    }
}
