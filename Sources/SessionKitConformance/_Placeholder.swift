// Temporary: removed once the conformance suite lands.
