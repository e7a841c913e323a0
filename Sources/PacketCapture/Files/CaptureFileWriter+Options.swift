#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

extension CaptureFileWriter {
    /// How a `CaptureFileWriter` writes: pcap timestamp precision, buffer size,
    /// pcapng section header options.
    public struct Options: Sendable {
        /// For pcap: µs or ns timestamps. `nil` (the default) chooses from the first
        /// interface: ns when its timestamps are finer than µs, µs otherwise.
        public var pcapTimestampPrecision: PcapTimestampPrecision?
        /// User-space buffer size in bytes.
        public var bufferSize: Int
        /// For pcapng: the options of the Section Header Block the writer creates
        /// (`shb_hardware`, `shb_os`, `shb_userappl`, comments). By default,
        /// `shb_os` from uname(2) and `shb_userappl` "swiftcap".
        public var sectionOptions: [PcapngOption]

        public init(pcapTimestampPrecision: PcapTimestampPrecision? = nil, bufferSize: Int = 1 << 16,
                    sectionOptions: [PcapngOption]? = nil) {
            self.pcapTimestampPrecision = pcapTimestampPrecision
            self.bufferSize = bufferSize
            self.sectionOptions = sectionOptions ?? Self.defaultSectionOptions()
        }

        static func defaultSectionOptions() -> [PcapngOption] {
            var options: [PcapngOption] = []
            var u = utsname()
            if uname(&u) == 0 {
                func field<T>(_ value: inout T) -> String {
                    withUnsafeBytes(of: &value) { raw in
                        String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
                    }
                }
                options.append(PcapngOption(code: PcapngOption.shbOS,
                                            string: field(&u.sysname) + " " + field(&u.release)))
            }
            options.append(PcapngOption(code: PcapngOption.shbUserApplication, string: "swiftcap"))
            return options
        }
    }
}
