#if Postgres
import Foundation
import Logging
import NIOCore
import PostgresNIO
import SessionKit
import Synchronization

extension PostgresStore {
    /// Runs `body` on a pooled connection within ``Configuration/operationTimeout``.
    ///
    /// The pool waits for a connection for as long as a minute while the server
    /// is down, and a query already sent cannot be cancelled, so the body runs in
    /// a task of its own that races a timer. When the timer wins (or the calling
    /// task is cancelled), a pending lease is cancelled and a leased connection is
    /// closed, which fails its query at once, and the caller returns without
    /// waiting for the body: PostgresNIO can lose a query written to a
    /// connection that has just closed, and such a query never completes.
    ///
    /// - Parameters:
    ///   - operation: What the body does, for error messages ("load a session").
    ///   - body: The work; it must finish reading its rows before it returns.
    /// - Throws: ``SessionKit/SessionStoreError`` for every failure except
    ///   cancellation of the calling task, which throws `CancellationError`.
    func withConnection<Result: Sendable>(
        _ operation: String,
        _ body: @escaping @Sendable (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        let lease = LeaseTracker()
        let race = Race<Result>()
        let timeout = configuration.operationTimeout
        let work = Task { [client] in
            do {
                race.settle(.finished(.success(try await Self.runLeased(body, on: client, tracking: lease))))
            } catch {
                race.settle(.finished(.failure(error)))
            }
        }
        let outcome = await withTaskGroup(of: Void.self) { group in
            group.addTask {
                do {
                    try await Task.sleep(for: timeout)
                    race.settle(.timedOut)
                } catch {
                    // The sleep ends early only when the calling task is cancelled
                    // (or the body has already settled the race and this is ignored).
                    race.settle(.cancelled)
                }
            }
            let outcome = await race.outcome()
            group.cancelAll()
            return outcome
        }
        switch outcome {
        case .finished(.success(let value)):
            return value
        case .finished(.failure(let error)):
            if error is CancellationError || Task.isCancelled { throw CancellationError() }
            throw storeError(error, during: operation)
        case .timedOut:
            let hadConnection = lease.abandon()
            work.cancel()
            throw SessionStoreError(
                code: .timedOut,
                storeName: name,
                message: hadConnection
                    ? "PostgreSQL did not answer within \(timeout) while trying to \(operation); the connection was closed. "
                        + "Check the server's load and locks on \(schema.table), or raise PostgresStore.operationTimeout"
                    : "no PostgreSQL connection within \(timeout) while trying to \(operation): the server may be down or "
                        + "unreachable, every pooled connection busy, or the PostgresClient's run() not running"
            )
        case .cancelled:
            lease.abandon()
            work.cancel()
            throw CancellationError()
        }
    }

    /// Leases a connection and runs `body` on it, recording the lease in `tracker`.
    ///
    /// A connection that is already closed when it is leased (the server ended it
    /// and the pool has not noticed yet) is handed back once the pool knows, and
    /// another one is leased.
    private static func runLeased<Result: Sendable>(
        _ body: @Sendable (PostgresConnection) async throws -> Result,
        on client: PostgresClient,
        tracking tracker: LeaseTracker
    ) async throws -> Result {
        for _ in 0..<3 {
            let result: Result? = try await client.withConnection { connection in
                guard !connection.isClosed else {
                    await Self.waitUntilClosed(connection)
                    return nil
                }
                guard tracker.begin(connection) else { throw CancellationError() }
                do {
                    let value = try await body(connection)
                    if tracker.finish() { await Self.waitUntilClosed(connection) }
                    return value
                } catch {
                    if tracker.finish() { await Self.waitUntilClosed(connection) }
                    throw error
                }
            }
            if let result { return result }
        }
        throw ClosedConnectionsError()
    }

    /// Waits until `connection` has closed and the pool has been told, so that
    /// returning it to the pool does not hand a dead connection to the next
    /// request. The pool registered its close callback when the connection
    /// opened, so it runs before this wait ends.
    private static func waitUntilClosed(_ connection: PostgresConnection) async {
        _ = try? await connection.closeFuture.get()
    }

    /// Drains `query`'s result, for statements whose rows the store does not read.
    static func execute(_ query: PostgresQuery, on connection: PostgresConnection, logger: Logger) async throws {
        let rows = try await connection.query(query, logger: logger)
        for try await _ in rows {}
    }

    /// Wraps a PostgresNIO failure as a ``SessionKit/SessionStoreError`` that says
    /// what failed and how it may be remedied, keeping the original as `cause`.
    ///
    /// The message quotes the server's SQLSTATE and message, which name tables and
    /// columns but not the statement's parameters, so never a session key.
    func storeError(_ error: any Error, during operation: String) -> SessionStoreError {
        if let error = error as? SessionStoreError { return error }
        let prefix = "could not \(operation)"
        guard let psqlError = error as? PSQLError else {
            if error is ClosedConnectionsError {
                return SessionStoreError(
                    code: .unavailable,
                    storeName: name,
                    message: "\(prefix): the pool handed out only closed connections; is the server restarting?",
                    cause: error
                )
            }
            if error is PostgresDecodingError {
                return SessionStoreError(
                    code: .unavailable,
                    storeName: name,
                    message: "\(prefix): a column of \(schema.table) has an unexpected type; "
                        + "was the table created by another program?",
                    cause: error
                )
            }
            return SessionStoreError(
                code: .unavailable,
                storeName: name,
                message: "\(prefix): PostgreSQL is unavailable (\(type(of: error)))",
                cause: error
            )
        }
        switch psqlError.code {
        case .server:
            let state = psqlError.serverInfo?[.sqlState] ?? "?????"
            let serverMessage = psqlError.serverInfo?[.message] ?? "no message"
            var message = "\(prefix): PostgreSQL answered \(state) \(serverMessage)"
            switch state {
            case "42P01":
                message +=
                    configuration.createTableIfMissing
                    ? "; the table \(schema.table) was dropped after the store created it"
                    : "; create \(schema.table) in a migration or turn PostgresStore.createTableIfMissing on"
            case "3F000":
                message += "; create the schema \(configuration.schema) first"
            case "42501":
                message += "; grant the database user access to \(schema.table)"
            case "28P01", "28000":
                message += "; check the user name and password in DATABASE_URL"
            case "3D000":
                message += "; check the database name in DATABASE_URL"
            default:
                break
            }
            return SessionStoreError(code: .unavailable, storeName: name, message: message, cause: error)
        case .poolClosed:
            return SessionStoreError(
                code: .unavailable,
                storeName: name,
                message: "\(prefix): the PostgresClient is shut down (its run() task ended)",
                cause: error
            )
        case .sslUnsupported:
            return SessionStoreError(
                code: .unavailable,
                storeName: name,
                message: "\(prefix): the server does not support TLS, which sslmode requires",
                cause: error
            )
        default:
            return SessionStoreError(
                code: .unavailable,
                storeName: name,
                message: "\(prefix): lost or could not open the connection to PostgreSQL (\(psqlError.code))",
                cause: error
            )
        }
    }
}

/// The pool handed out closed connections several times in a row.
private struct ClosedConnectionsError: Error, CustomStringConvertible {
    var description: String { "every leased connection was already closed" }
}

/// How the race between an operation and its timer ended.
private enum Outcome<Value: Sendable>: Sendable {
    case finished(Result<Value, any Error>)
    case timedOut
    case cancelled
}

/// The first ``Outcome`` of an operation's race, handed to the one caller
/// waiting for it; later outcomes are ignored.
private final class Race<Value: Sendable>: Sendable {
    private enum State {
        case open
        case waiting(CheckedContinuation<Outcome<Value>, Never>)
        case settled(Outcome<Value>)
        case done
    }

    private let state = Mutex(State.open)

    /// Records `outcome` unless another came first.
    func settle(_ outcome: Outcome<Value>) {
        let waiter: CheckedContinuation<Outcome<Value>, Never>? = state.withLock { state in
            switch state {
            case .open:
                state = .settled(outcome)
                return nil
            case .waiting(let continuation):
                state = .done
                return continuation
            case .settled, .done:
                return nil
            }
        }
        waiter?.resume(returning: outcome)
    }

    /// Waits for the first outcome. Call it once.
    func outcome() async -> Outcome<Value> {
        await withCheckedContinuation { continuation in
            let ready: Outcome<Value>? = state.withLock { state in
                switch state {
                case .open:
                    state = .waiting(continuation)
                    return nil
                case .settled(let outcome):
                    state = .done
                    return outcome
                case .waiting, .done:
                    preconditionFailure("an operation's outcome is awaited once")
                }
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }
}

/// Tracks one operation's connection lease, so a timeout can close the
/// connection while the operation holds it, and never after it is returned to
/// the pool (where another request may be using it).
private final class LeaseTracker: Sendable {
    private enum Phase {
        case waiting
        case leased(PostgresConnection)
        case finished
        case abandoned(closedConnection: Bool)
    }

    private let phase = Mutex(Phase.waiting)

    /// Records the leased connection; `false` when the operation was already
    /// abandoned and must not use it.
    func begin(_ connection: PostgresConnection) -> Bool {
        phase.withLock { phase in
            guard case .waiting = phase else { return false }
            phase = .leased(connection)
            return true
        }
    }

    /// Records that the body is done with the connection, which goes back to the
    /// pool next; `true` when ``abandon()`` closed it first.
    func finish() -> Bool {
        phase.withLock { phase in
            switch phase {
            case .leased:
                phase = .finished
                return false
            case .abandoned(let closedConnection):
                return closedConnection
            case .waiting, .finished:
                return false
            }
        }
    }

    /// Gives up on the operation, closing its connection if it holds one.
    ///
    /// Runs under the lock, so the body cannot return the connection to the
    /// pool between the check and the close.
    ///
    /// - Returns: Whether the operation had a connection (it was waiting for the
    ///   server's answer) rather than waiting for one.
    @discardableResult
    func abandon() -> Bool {
        phase.withLock { phase in
            switch phase {
            case .leased(let connection):
                let _: EventLoopFuture<Void> = connection.close()
                phase = .abandoned(closedConnection: true)
                return true
            case .waiting:
                phase = .abandoned(closedConnection: false)
                return false
            case .finished:
                return true
            case .abandoned(let closedConnection):
                return closedConnection
            }
        }
    }
}
#endif  // Postgres
