#if Postgres
import PostgresNIO
import SessionKit
import Testing

@testable import SessionKitPostgres

/// `DATABASE_URL` parsing by ``PostgresStore/clientConfiguration(url:)``.
@Suite struct PostgresURLTests {
    struct GoodURL: Sendable, CustomTestStringConvertible {
        var url: String
        var host: String?
        var port: Int?
        var socketPath: String?
        var username: String
        var password: String?
        var database: String?
        var tls: PostgresURL.TLSMode

        var testDescription: String { url }
    }

    static let goodURLs: [GoodURL] = [
        .init(
            url: "postgres://app:secret@db.example.com:6543/sessions", host: "db.example.com", port: 6543,
            username: "app", password: "secret", database: "sessions", tls: .prefer
        ),
        .init(
            url: "postgresql://app@localhost/sessions?sslmode=disable", host: "localhost", port: 5432,
            username: "app", database: "sessions", tls: .disable
        ),
        .init(
            url: "postgres://app:p%40ss%2Fw%3Ard@10.0.0.5/db?sslmode=require", host: "10.0.0.5", port: 5432,
            username: "app", password: "p@ss/w:rd", database: "db", tls: .require
        ),
        .init(url: "postgres://app:raw@pass@host", host: "host", port: 5432, username: "app", password: "raw@pass", tls: .prefer),
        .init(url: "postgres://app@[::1]:5439/", host: "::1", port: 5439, username: "app", tls: .prefer),
        .init(url: "POSTGRES://app:@host:1/d%20b?sslmode=verify-full", host: "host", port: 1, username: "app", database: "d b", tls: .require),
        .init(url: "postgres://app@host?sslmode=verify-ca", host: "host", port: 5432, username: "app", tls: .require),
        .init(
            url: "postgres://postgres@%2Ftmp%2Fpgtest:5439/postgres", socketPath: "/tmp/pgtest/.s.PGSQL.5439",
            username: "postgres", database: "postgres", tls: .prefer
        ),
        .init(
            url: "postgres://postgres@%2Fvar%2Frun%2Fpostgresql%2F/postgres?sslmode=disable",
            socketPath: "/var/run/postgresql/.s.PGSQL.5432", username: "postgres", database: "postgres", tls: .disable
        ),
    ]

    @Test(arguments: goodURLs)
    func goodURLIsParsed(_ expected: GoodURL) throws {
        let configuration = try PostgresStore.clientConfiguration(url: expected.url)
        #expect(configuration.host == expected.host)
        #expect(configuration.port == expected.port)
        #expect(configuration.unixSocketPath == expected.socketPath)
        #expect(configuration.username == expected.username)
        #expect(configuration.password == expected.password)
        #expect(configuration.database == expected.database)
        #expect(try PostgresURL(parsing: expected.url).tlsMode == expected.tls)
    }

    @Test func connectTimeoutAndApplicationNameAreApplied() throws {
        let configuration = try PostgresStore.clientConfiguration(
            url: "postgres://app@host/db?connect_timeout=3&application_name=my%20app"
        )
        #expect(configuration.options.connectTimeout == .seconds(3))
        #expect(configuration.options.additionalStartupParameters.map { "\($0.0)=\($0.1)" } == ["application_name=my app"])
    }

    @Test(arguments: [
        "",
        "s3cret",
        "db.example.com:5432",
        "mysql://app:s3cret@host/db",
        "postgres://s3cret",
        "postgres://:s3cret@host/db",
        "postgres://app:s3cret@/db",
        "postgres://app:s3cret@host:0/db",
        "postgres://app:s3cret@host:65536/db",
        "postgres://app:s3cret@host:port/db",
        "postgres://app:s3cret@host1,host2/db",
        "postgres://app:s3cret@host/db/extra",
        "postgres://app:s3cret@[::1/db",
        "postgres://app:s3cr%zzet@host/db",
        "postgres://app:s3cret@host/db?sslmode=allow",
        "postgres://app:s3cret@host/db?sslmode",
        "postgres://app:s3cret@host/db?connect_timeout=0",
        "postgres://app:s3cret@host/db?target_session_attrs=any",
        "postgres://app:s3cret@host/db#fragment",
        "postgres://app:s3cret@%2Ftmp/db?sslmode=require",
    ])
    func badURLIsRefusedWithoutRepeatingThePassword(_ url: String) {
        let error = #expect(throws: SessionConfigurationError.self) {
            try PostgresStore.clientConfiguration(url: url)
        }
        #expect(error?.setting == "DATABASE_URL")
        #expect(error?.description.contains("s3cr") == false, "\(error?.description ?? "")")
    }
}
#endif  // Postgres
