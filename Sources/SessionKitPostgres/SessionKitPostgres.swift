#if Postgres
// An app that imports this module gets SessionKit's API with it.
@_exported public import SessionKit
#else
#warning("SessionKitPostgres is empty: turn on the package trait \"Postgres\" (.package(url: ..., traits: [\"Postgres\"]))")
#endif
