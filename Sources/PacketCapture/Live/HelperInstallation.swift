import SwiftcapWire

/// Where the helper is looked for and what its installation looks like, for
/// installers and diagnostics (`swiftcap install-helper`, `swiftcap doctor`).
public enum HelperInstallation {
    /// The swiftcap release of this library; `swiftcap --version` and
    /// `swiftcap-helper --version` print the same string.
    public static let version = Wire.softwareVersion

    /// The helper `LiveCapture.open` would start with `helperPath`, or the error it
    /// would throw: `.helperNotFound` (with the paths tried), `.helperNotExecutable`
    /// (mode, owner, group and the group to join). stat(2), access(2), getxattr(2):
    /// call it off the cooperative thread pool when that matters.
    public static func locate(helperPath: String? = nil) throws(CaptureError) -> String {
        try HelperLocator.locate(explicit: helperPath)
    }

    /// The places looked at after `helperPath` and `$SWIFTCAP_HELPER`, in order.
    public static var searchPaths: [String] { HelperLocator.searchPaths() }

    /// `PREFIX/libexec/swiftcap/swiftcap-helper`.
    public static func installedPath(prefix: String) -> String {
        HelperLocator.installedPath(prefix: prefix)
    }

    /// What to do when the helper at `path` cannot capture for lack of
    /// CAP_NET_RAW: set the capability, move off a nosuid mount, or leave no_new_privs.
    public static func capabilityAdvice(for path: String) -> String {
        HelperLocator.capabilityAdvice(for: path)
    }

    /// The command that (re)installs the helper at `path` (with `--prefix` when needed).
    public static func installCommand(for path: String) -> String {
        HelperLocator.installCommand(for: path)
    }
}
