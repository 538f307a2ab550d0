#if Vapor
// An app that imports this module gets SessionKit's API with it.
@_exported public import SessionKit
#else
#warning("SessionKitVapor is empty: turn on the package trait \"Vapor\" (.package(url: ..., traits: [\"Vapor\"]))")
#endif
