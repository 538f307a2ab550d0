/// Stops the run when `condition` is false.
///
/// A broken invariant is a finding just like a crash: `fatalError` traps,
/// libFuzzer reports a deadly signal and writes the input to its crash file.
///
/// - Parameters:
///   - condition: The invariant.
///   - message: What broke, for the report; never evaluated when the invariant holds.
public func require(
    _ condition: @autoclosure () -> Bool,
    _ message: @autoclosure () -> String,
    file: StaticString = #fileID,
    line: UInt = #line
) {
    if !condition() {
        fatalError("invariant broken: \(message())", file: file, line: line)
    }
}

/// The fuzz input as a buffer; libFuzzer may pass a null pointer for the empty input.
public func inputBytes(_ data: UnsafePointer<UInt8>?, _ size: Int) -> UnsafeBufferPointer<UInt8> {
    guard let data, size > 0 else { return UnsafeBufferPointer(start: nil, count: 0) }
    return UnsafeBufferPointer(start: data, count: size)
}
