extension SessionKey {
    /// The first 8 hexadecimal characters of the key: enough to tell sessions
    /// apart in a log, too short to find or replay one.
    ///
    /// Log this, never ``hex`` in full and never the token: the key is what a
    /// store looks a session up by, so a full key in a shared log lets anyone
    /// with store access pick out a live session's record.
    public var fingerprint: String { String(hex.prefix(8)) }
}
