/// A peer sent bytes that are not a valid frame. The receiving side reports it
/// and ends the session; it never crashes on them.
package struct ProtocolViolation: Error, Equatable, Sendable, CustomStringConvertible {
    package enum Kind: UInt8, Sendable {
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

    package var kind: Kind
    package var reason: String

    package init(_ kind: Kind, _ reason: String) {
        self.kind = kind
        self.reason = reason
    }

    package var description: String { "protocol violation (\(kind)): \(reason)" }
}
