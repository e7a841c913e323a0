/// A peer sent bytes that are not a valid frame. The receiving side reports it
/// and ends the session; it never crashes on them.
public struct ProtocolViolation: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Kind: UInt8, Sendable {
        /// The length field is zero.
        case badLength
        /// The length field exceeds `Wire.maxFrameLength`.
        case oversized
        /// The type byte names no known frame type.
        case unknownType
        /// The payload ended before a field did.
        case truncated
        /// A field holds a value outside its domain, or bytes are left over.
        case badField
        /// A well-formed frame arrived where the protocol does not allow it.
        case unexpected
        /// The peer speaks another protocol version.
        case versionMismatch
    }

    public var kind: Kind
    public var reason: String

    public init(_ kind: Kind, _ reason: String) {
        self.kind = kind
        self.reason = reason
    }

    public var description: String { "protocol violation (\(kind)): \(reason)" }
}
