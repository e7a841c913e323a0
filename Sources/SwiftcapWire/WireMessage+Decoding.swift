extension WireMessage {
    /// Decodes the payload of a frame located by `FrameScanner`.
    /// Every field is bounds-checked and the payload must be consumed exactly.
    package static func decode(_ type: FrameType, payload: Range<Int>, in buffer: UnsafeRawBufferPointer) throws(ProtocolViolation) -> WireMessage {
        var r = ByteReader(buffer, range: payload)
        let message: WireMessage
        switch type {
        case .hello:
            let version = try r.u16("protocol version")
            guard version == Wire.protocolVersion else {
                // Another version's hello: only its leading u16 is promised. Take what
                // reads like version 1 and 2 fields so the receiver can name the
                // helper's release, and ignore the rest (the session ends anyway).
                let libpcap = (try? r.string("libpcap version")) ?? ""
                let software = (try? r.string("software version")) ?? ""
                _ = r.rest()
                return .hello(Hello(protocolVersion: version, libpcapVersion: libpcap, softwareVersion: software))
            }
            message = .hello(Hello(protocolVersion: version, libpcapVersion: try r.string("libpcap version"),
                                   softwareVersion: try r.string("software version")))
        case .open:
            let device = try r.string("device")
            let snaplen = try r.u32("snapshot length")
            guard snaplen >= 1, snaplen <= UInt32(Wire.maxSnapshotLength) else {
                throw ProtocolViolation(.badField, "snapshot length \(snaplen) outside 1...\(Wire.maxSnapshotLength)")
            }
            let promiscuous = try r.bool("promiscuous")
            let modeByte = try r.u8("timeout mode")
            guard let mode = TimeoutMode(rawValue: modeByte) else { throw ProtocolViolation(.badField, "timeout mode \(modeByte)") }
            let timeoutMs = try r.u32("timeout")
            let bufferSize = try r.u32("buffer size")
            let monitor = try r.bool("monitor mode")
            let dirByte = try r.u8("direction")
            guard let direction = WireDirection(rawValue: dirByte) else { throw ProtocolViolation(.badField, "direction \(dirByte)") }
            let precByte = try r.u8("timestamp precision")
            guard let precision = WireTimestampPrecision(rawValue: precByte) else {
                throw ProtocolViolation(.badField, "timestamp precision \(precByte)")
            }
            let linkTypeName = try r.string("link type name")
            let timestampTypeName = try r.string("time stamp type name")
            let filter = try FilterSpec.decode(&r)
            message = .open(OpenRequest(device: device, snapshotLength: snaplen, promiscuous: promiscuous,
                                        timeoutMode: mode, timeoutMilliseconds: timeoutMs, bufferSize: bufferSize,
                                        monitorMode: monitor, direction: direction, timestampPrecision: precision,
                                        linkTypeName: linkTypeName, timestampTypeName: timestampTypeName, filter: filter))
        case .inject:
            guard r.remaining >= 1 else { throw ProtocolViolation(.badField, "inject frame carries no packet") }
            message = .inject(r.rest())
        case .setFilter:
            message = .setFilter(try FilterSpec.decode(&r))
        case .statisticsRequest: message = .statisticsRequest
        case .close: message = .close
        case .listDevices: message = .listDevices
        case .filterSet: message = .filterSet
        case .end: message = .end
        case .compileFilter:
            let link = try r.u32("link type")
            let snaplen = try r.u32("snapshot length")
            guard snaplen >= 1, snaplen <= UInt32(Wire.maxSnapshotLength) else {
                throw ProtocolViolation(.badField, "snapshot length \(snaplen) outside 1...\(Wire.maxSnapshotLength)")
            }
            let swapped = try r.bool("byte swapped")
            message = .compileFilter(CompileRequest(linkType: link, snapshotLength: snaplen, byteSwapped: swapped,
                                                    filter: try FilterSpec.decode(&r)))
        case .ready:
            let link = try r.u32("link type")
            let snaplen = try r.u32("snapshot length")
            let precByte = try r.u8("timestamp precision")
            guard let precision = WireTimestampPrecision(rawValue: precByte) else {
                throw ProtocolViolation(.badField, "timestamp precision \(precByte)")
            }
            message = .ready(Ready(linkType: link, snapshotLength: snaplen, timestampPrecision: precision, warning: try r.string("warning")))
        case .packet:
            let header = try PacketHeader.decode(payload: payload, in: buffer)
            message = .packet(header, Array(UnsafeRawBufferPointer(rebasing: buffer[(payload.lowerBound + Wire.packetHeaderLength) ..< payload.upperBound])))
            return message
        case .injected:
            message = .injected(try r.u32("injected count"))
        case .statistics:
            message = .statistics(WireStatistics(received: try r.u64("received"), droppedByKernel: try r.u64("dropped by kernel"),
                                                 droppedByInterface: try r.u64("dropped by interface"), sentByHelper: try r.u64("sent")))
        case .describeDevice:
            message = .describeDevice(try r.string("device"))
        case .injectBatch:
            message = .injectBatch(try WireInjectBatch(validating: UnsafeRawBufferPointer(rebasing: buffer[payload])))
            return message
        case .injectedBatch:
            message = .injectedBatch(WireInjectResult(sent: try r.u32("sent"), bytes: try r.u64("bytes"), failed: try r.u32("failed"),
                                                      firstError: try r.string("first error")))
        case .deviceDetails:
            // Each choice needs at least 12 bytes: refuse counts the payload cannot hold.
            func choices(_ what: StaticString) throws(ProtocolViolation) -> [WireChoice] {
                let count = Int(try r.u32(what))
                guard count <= r.remaining / 12 else { throw ProtocolViolation(.badField, "\(what) \(count) exceeds payload") }
                var list: [WireChoice] = []
                list.reserveCapacity(count)
                for _ in 0 ..< count {
                    list.append(WireChoice(value: Int32(bitPattern: try r.u32("choice value")), name: try r.string("choice name"),
                                           description: try r.string("choice description")))
                }
                return list
            }
            let linkTypes = try choices("link type count")
            message = .deviceDetails(WireDeviceDetails(linkTypes: linkTypes, timestampTypes: try choices("time stamp type count")))
        case .devices:
            let count = Int(try r.u32("device count"))
            // Each device needs at least 16 bytes; refuse counts the payload cannot hold
            // before reserving anything.
            guard count <= r.remaining / 16 else { throw ProtocolViolation(.badField, "device count \(count) exceeds payload") }
            var devices: [WireDevice] = []
            devices.reserveCapacity(count)
            for _ in 0 ..< count {
                let name = try r.string("device name")
                let description = try r.string("device description")
                let flags = try r.u32("device flags")
                let addressCount = Int(try r.u32("address count"))
                guard addressCount <= r.remaining / 6 else { throw ProtocolViolation(.badField, "address count \(addressCount) exceeds payload") }
                var addresses: [WireAddress] = []
                addresses.reserveCapacity(addressCount)
                for _ in 0 ..< addressCount {
                    addresses.append(WireAddress(family: try r.u16("address family"), address: try r.shortBytes("address"),
                                                 netmask: try r.shortBytes("netmask"), broadcast: try r.shortBytes("broadcast"),
                                                 destination: try r.shortBytes("destination")))
                }
                devices.append(WireDevice(name: name, description: description, flags: flags, addresses: addresses))
            }
            message = .devices(devices)
        case .program:
            let link = try r.u32("link type")
            let count = Int(try r.u32("instruction count"))
            guard count >= 1, count <= WireProgram.maxInstructions else {
                throw ProtocolViolation(.badField, "instruction count \(count) outside 1...\(WireProgram.maxInstructions)")
            }
            guard count * 8 == r.remaining else {
                throw ProtocolViolation(.badField, "program of \(count) instructions needs \(count * 8) bytes, has \(r.remaining)")
            }
            var instructions: [WireInstruction] = []
            instructions.reserveCapacity(count)
            for _ in 0 ..< count {
                instructions.append(WireInstruction(code: try r.u16("code"), jt: try r.u8("jt"), jf: try r.u8("jf"), k: try r.u32("k")))
            }
            message = .program(WireProgram(linkType: link, instructions: instructions))
        case .error:
            let raw = try r.u16("error code")
            let fatal = try r.bool("fatal")
            message = .error(WireError(code: WireErrorCode(rawValue: raw) ?? .internal, fatal: fatal, message: try r.string("error message")))
        }
        try r.finish(type)
        return message
    }

    /// Decodes the first complete frame of `bytes` (convenience for tests and control paths).
    /// - Returns: the message and the number of bytes it occupied, or nil if incomplete.
    package static func decodeFrame(_ bytes: [UInt8]) throws(ProtocolViolation) -> (WireMessage, Int)? {
        let result: Result<(WireMessage, Int)?, ProtocolViolation> = bytes.withUnsafeBytes { buf in
            do throws(ProtocolViolation) {
                guard let frame = try FrameScanner.nextFrame(in: buf, from: 0) else { return .success(nil) }
                return .success((try decode(frame.type, payload: frame.payload, in: buf), frame.end))
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }
}

extension FilterSpec {
    static func decode(_ r: inout ByteReader) throws(ProtocolViolation) -> FilterSpec {
        let optimize = try r.bool("optimize")
        let netmask = try r.u32("netmask")
        return FilterSpec(expression: try r.string("filter expression"), optimize: optimize, netmask: netmask)
    }
}

extension PacketHeader {
    /// Decodes and validates the fixed fields of a packet frame payload: the
    /// generic path, with `PacketFrame.isValid`'s rule and a reason for each failure.

    package static func decode(payload: Range<Int>, in buffer: UnsafeRawBufferPointer) throws(ProtocolViolation) -> PacketHeader {
        guard payload.count >= Wire.packetHeaderLength else {
            throw ProtocolViolation(.truncated, "packet frame of \(payload.count) bytes is shorter than its \(Wire.packetHeaderLength)-byte header")
        }
        let base = payload.lowerBound
        @inline(__always) func be32(_ at: Int) -> UInt32 {
            UInt32(bigEndian: buffer.loadUnaligned(fromByteOffset: base + at, as: UInt32.self))
        }
        let seconds = Int64(bitPattern: UInt64(bigEndian: buffer.loadUnaligned(fromByteOffset: base, as: UInt64.self)))
        let header = PacketHeader(seconds: seconds, nanoseconds: be32(8), captureLength: be32(12), wireLength: be32(16))
        let carried = payload.count - Wire.packetHeaderLength
        if PacketFrame.isValid(nanoseconds: header.nanoseconds, captureLength: header.captureLength,
                               wireLength: header.wireLength, carried: carried) {
            return header
        }
        guard header.nanoseconds < 1_000_000_000 else {
            throw ProtocolViolation(.badField, "packet nanoseconds \(header.nanoseconds) not below 1e9")
        }
        guard Int(header.captureLength) == payload.count - Wire.packetHeaderLength else {
            throw ProtocolViolation(.badField, "packet captured length \(header.captureLength) but frame carries \(payload.count - Wire.packetHeaderLength) bytes")
        }
        guard header.captureLength <= header.wireLength else {
            throw ProtocolViolation(.badField, "packet captured length \(header.captureLength) exceeds wire length \(header.wireLength)")
        }
        return header
    }
}
