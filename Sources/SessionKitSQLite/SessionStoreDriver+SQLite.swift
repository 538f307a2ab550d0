#if SQLite
import Foundation
public import SessionKit

extension SessionStoreDriver {
    /// An ``SQLiteStore`` in the database file at `path` (its folder created when
    /// missing), swept by its background work.
    ///
    /// ```swift
    /// try await app.sessionKit.use(.sqlite(path: "data/sessions.sqlite"))
    /// ```
    ///
    /// - Parameters:
    ///   - path: The database file; relative paths are resolved against the current directory.
    ///   - configuration: The table, sweep interval and busy timeout.
    /// - Returns: The driver; making it throws ``SessionKit/SessionConfigurationError``
    ///   naming `SQLiteStore.path` when the folder cannot be created or the file
    ///   cannot be used (see ``SQLiteStore/init(path:configuration:clock:logger:)``),
    ///   or ``SessionKit/SessionStoreError`` when the database stays locked by another process.
    public static func sqlite(path: String, configuration: SQLiteStore.Configuration = .init()) -> SessionStoreDriver {
        SessionStoreDriver(name: "sqlite") { logger in
            if !path.isEmpty, path != ":memory:" {
                let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
                do {
                    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
                } catch {
                    throw SessionConfigurationError(
                        setting: "SQLiteStore.path",
                        reason: "could not create the folder '\(folder)': \(error.localizedDescription)"
                    )
                }
            }
            let store = try await SQLiteStore(path: path, configuration: configuration, logger: logger)
            return .store(store, run: store.run)
        }
    }
}
#endif  // SQLite
