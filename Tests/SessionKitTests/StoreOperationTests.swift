import Testing

@testable import SessionKit

/// The engine's per-operation metric table is an array indexed by the operation.
@Suite struct StoreOperationTests {
    @Test func everyOperationIndexesItsOwnSlotInCaseOrder() {
        #expect(StoreOperation.allCases.map(\.index) == Array(StoreOperation.allCases.indices))
    }
}
