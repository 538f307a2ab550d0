#if Hummingbird
// An app that imports this module gets SessionKit's API with it.
@_exported public import SessionKit
#else
#warning("SessionKitHummingbird is empty: turn on the package trait \"Hummingbird\" (.package(url: ..., traits: [\"Hummingbird\"]))")
#endif
