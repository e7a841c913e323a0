extension Wire {
    /// The swiftcap release this build belongs to. `swiftcap --version` and
    /// `swiftcap-helper --version` print it, and the helper's `hello` carries it,
    /// so that a client can name the helper's release when the two do not match.
    package static let softwareVersion = "0.2.0"
}
