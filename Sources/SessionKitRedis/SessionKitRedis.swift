#if Redis
// An app that imports this module gets SessionKit's API with it.
@_exported public import SessionKit
#else
#warning("SessionKitRedis is empty: turn on the package trait \"Redis\" (.package(url: ..., traits: [\"Redis\"]))")
#endif
