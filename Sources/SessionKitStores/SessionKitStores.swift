// An app that imports this module gets SessionKit's API with it.
@_exported public import SessionKit
