/// The callback libFuzzer calls with each input: `LLVMFuzzerTestOneInput`'s shape.
public typealias FuzzCallback = @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt

// libFuzzer's documented entry for programs that bring their own `main`
// (https://llvm.org/docs/LibFuzzer.html#using-libfuzzer-as-a-library), declared
// by hand because there is no header for it. Its C signature is
// `int (int *argc, char ***argv, int (*cb)(const uint8_t *, size_t))`.
@_silgen_name("LLVMFuzzerRunDriver")
private func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: FuzzCallback
) -> CInt

/// Runs libFuzzer's driver (its command line, corpus handling and reports) on `callback`.
///
/// Why each target needs this: on Linux SwiftPM links an executable target with
/// `--defsym main=<Module>_main`, so that tests can link executables, and with
/// `-parse-as-library` nothing defines `<Module>_main`. Each target defines it
/// with `@_cdecl` and calls this, which does what libFuzzer's own `main` would.
/// Each target also exports `LLVMFuzzerTestOneInput`, so a build that does not
/// rename `main` gets libFuzzer's `main` and works the same.
///
/// - Parameters:
///   - argc: The process's argument count.
///   - argv: The process's arguments.
///   - callback: The target's `LLVMFuzzerTestOneInput`.
/// - Returns: libFuzzer's exit status.
public func runFuzzer(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?, _ callback: FuzzCallback) -> CInt {
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv, callback)
}
