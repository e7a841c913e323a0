/// The two capture file formats.
public enum CaptureFileFormat: String, Hashable, Sendable, CaseIterable, CustomStringConvertible {
    /// Classic libpcap format: one link-layer type, µs or ns timestamps.
    case pcap
    /// pcapng: sections, several interfaces, options and comments.
    case pcapng

    public var description: String { rawValue }
}

/// The timestamp precision of a classic pcap file, chosen by its magic number.
public enum PcapTimestampPrecision: String, Hashable, Sendable, CustomStringConvertible {
    /// Magic 0xa1b2c3d4: the fraction field counts microseconds.
    case microseconds
    /// Magic 0xa1b23c4d: the fraction field counts nanoseconds.
    case nanoseconds

    /// The magic number as written in the file's byte order.
    public var magic: UInt32 { self == .microseconds ? 0xA1B2_C3D4 : 0xA1B2_3C4D }
    /// Nanoseconds per unit of the fraction field.
    var nanosecondsPerUnit: UInt32 { self == .microseconds ? 1000 : 1 }
    var unitsPerSecond: UInt32 { self == .microseconds ? 1_000_000 : 1_000_000_000 }

    public var description: String { rawValue }
}

/// A pcapng `if_tsresol` value: timestamps count units of 10^-n seconds (most
/// significant bit clear) or 2^-n seconds (bit set).
public struct TimestampResolution: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    /// The `if_tsresol` byte.
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// 10^-exponent seconds; exponent 0...127.
    public static func decimal(_ exponent: Int) -> TimestampResolution {
        precondition((0...127).contains(exponent), "exponent must be in 0...127")
        return TimestampResolution(rawValue: UInt8(exponent))
    }

    /// 2^-exponent seconds; exponent 0...127.
    public static func binary(_ exponent: Int) -> TimestampResolution {
        precondition((0...127).contains(exponent), "exponent must be in 0...127")
        return TimestampResolution(rawValue: 0x80 | UInt8(exponent))
    }

    /// pcapng's default when an interface has no `if_tsresol`.
    public static let microseconds = TimestampResolution(rawValue: 6)
    public static let nanoseconds = TimestampResolution(rawValue: 9)

    /// Whether units are powers of two (rather than of ten).
    public var isBinary: Bool { rawValue & 0x80 != 0 }
    /// n in 10^-n or 2^-n.
    public var exponent: Int { Int(rawValue & 0x7F) }

    /// Whether timestamps at this resolution can carry digits below the microsecond.
    public var isFinerThanMicroseconds: Bool {
        isBinary ? exponent > 19 : exponent > 6   // 2^-20 s < 1 µs
    }

    /// Units per second, or nil when that does not fit in 64 bits.
    public var unitsPerSecond: UInt64? {
        if isBinary { return exponent < 64 ? UInt64(1) << UInt64(exponent) : nil }
        return exponent < powersOfTen.count ? powersOfTen[exponent] : nil
    }

    public var description: String { isBinary ? "2^-\(exponent) s" : "10^-\(exponent) s" }

    /// Splits a count of units into whole seconds and nanoseconds, truncating
    /// anything finer than a nanosecond (as Wireshark does).
    func split(_ units: UInt64) -> (seconds: UInt64, nanoseconds: UInt32) {
        let e = exponent
        if isBinary {
            if e == 0 { return (units, 0) }
            let seconds = e < 64 ? units >> UInt64(e) : 0
            let fraction = e < 64 ? units & ((UInt64(1) << UInt64(e)) &- 1) : units
            // floor(fraction * 1e9 / 2^e), in 128 bits.
            let (high, low) = fraction.multipliedFullWidth(by: 1_000_000_000)
            let ns: UInt64
            if e < 64 {
                ns = (high << UInt64(64 - e)) | (low >> UInt64(e))
            } else {
                ns = e - 64 < 64 ? high >> UInt64(e - 64) : 0
            }
            return (seconds, UInt32(truncatingIfNeeded: ns))
        }
        if e <= 9 {
            let d = powersOfTen[e]
            return (units / d, UInt32(truncatingIfNeeded: (units % d) * powersOfTen[9 - e]))
        }
        if e < powersOfTen.count {
            let d = powersOfTen[e]
            return (units / d, UInt32(truncatingIfNeeded: (units % d) / powersOfTen[e - 9]))
        }
        // 10^e exceeds 64 bits: no whole seconds fit.
        let divisor = e - 9 < powersOfTen.count ? powersOfTen[e - 9] : 0
        return (0, divisor == 0 ? 0 : UInt32(truncatingIfNeeded: units / divisor))
    }

    /// Units for `seconds` + `nanoseconds`, truncated to this resolution; nil
    /// when that is negative or does not fit in 64 bits.
    func units(seconds: Int64, nanoseconds: UInt32) -> UInt64? {
        guard seconds >= 0 else { return nil }
        let s = UInt64(seconds)
        let e = exponent
        let ns = UInt64(nanoseconds)
        let whole: UInt64
        let fraction: UInt64
        if isBinary {
            guard e < 64, s <= UInt64.max >> UInt64(e) else { return nil }
            whole = s << UInt64(e)
            // floor(ns * 2^e / 1e9)
            if e <= 33 {
                fraction = (ns << UInt64(e)) / 1_000_000_000   // ns < 2^30: no overflow
            } else {
                let divisor: UInt64 = 1_000_000_000
                let high = ns >> UInt64(64 - e)
                guard high < divisor else { return nil }
                fraction = divisor.dividingFullWidth((high: high, low: ns << UInt64(e))).quotient
            }
        } else if e <= 9 {
            let (w, overflow) = s.multipliedReportingOverflow(by: powersOfTen[e])
            guard !overflow else { return nil }
            (whole, fraction) = (w, ns / powersOfTen[9 - e])
        } else {
            guard e - 9 < powersOfTen.count else { return nil }
            let (f, overflowF) = ns.multipliedReportingOverflow(by: powersOfTen[e - 9])
            guard !overflowF else { return nil }
            if s == 0 {
                (whole, fraction) = (0, f)
            } else {
                guard e < powersOfTen.count else { return nil }
                let (w, overflow) = s.multipliedReportingOverflow(by: powersOfTen[e])
                guard !overflow else { return nil }
                (whole, fraction) = (w, f)
            }
        }
        let (sum, overflow) = whole.addingReportingOverflow(fraction)
        return overflow ? nil : sum
    }
}

let powersOfTen: [UInt64] = {
    var p: [UInt64] = [1]
    for _ in 1...19 { p.append(p.last! * 10) }
    return p
}()
