#if SQLite
// An app that imports this module gets SessionKit's API with it.
@_exported public import SessionKit
#else
#warning("SessionKitSQLite is empty: turn on the package trait \"SQLite\" (.package(url: ..., traits: [\"SQLite\"]))")
#endif
