#if HummingbirdAuth
// An app that imports this module gets SessionKit's API and its Hummingbird adapter with it.
@_exported public import SessionKit
@_exported public import SessionKitHummingbird
#else
#warning("SessionKitHummingbirdAuth is empty: turn on the package trait \"HummingbirdAuth\" (.package(url: ..., traits: [\"HummingbirdAuth\"]))")
#endif
