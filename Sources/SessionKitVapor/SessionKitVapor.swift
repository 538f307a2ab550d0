#if Vapor
// An app that imports this module gets SessionKit's API with it.
@_exported public import SessionKit
// And SessionStoreDriver(url:), for the stores whose traits are on.
@_exported public import SessionKitStores
#else
#warning("SessionKitVapor is empty: turn on the package trait \"Vapor\" (.package(url: ..., traits: [\"Vapor\"]))")
#endif
