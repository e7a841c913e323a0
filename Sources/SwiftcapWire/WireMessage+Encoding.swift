extension WireMessage {
    /// Appends this message as one complete frame (length, type, payload).
    package func encode(into out: inout [UInt8]) {
        // A batch already holds its payload: copied once, not rebuilt.
        if case .injectBatch(let batch) = self { return Self.appendFrame(.injectBatch, batch.payload, to: &out) }
        var w = ByteWriter(capacity: 64)
        encodePayload(into: &w)
        Self.appendFrame(frameType, w.bytes, to: &out)
    }

    private static func appendFrame(_ type: FrameType, _ payload: [UInt8], to out: inout [UInt8]) {
        precondition(payload.count <= Wire.maxPayloadLength, "payload of \(type) exceeds the frame bound")
        let length = UInt32(1 + payload.count)
        out.reserveCapacity(out.count + Wire.frameHeaderLength + payload.count)
        out.append(UInt8(truncatingIfNeeded: length >> 24)); out.append(UInt8(truncatingIfNeeded: length >> 16))
        out.append(UInt8(truncatingIfNeeded: length >> 8)); out.append(UInt8(truncatingIfNeeded: length))
        out.append(type.rawValue)
        out.append(contentsOf: payload)
    }

    /// This message as one frame.
    package func encoded() -> [UInt8] {
        var out: [UInt8] = []
        encode(into: &out)
        return out
    }

    func encodePayload(into w: inout ByteWriter) {
        switch self {
        case .hello(let h):
            w.u16(h.protocolVersion); w.string(h.libpcapVersion); w.string(h.softwareVersion)
        case .open(let o):
            w.string(o.device)
            w.u32(o.snapshotLength)
            w.bool(o.promiscuous)
            w.u8(o.timeoutMode.rawValue)
            w.u32(o.timeoutMilliseconds)
            w.u32(o.bufferSize)
            w.bool(o.monitorMode)
            w.u8(o.direction.rawValue)
            w.u8(o.timestampPrecision.rawValue)
            w.string(o.linkTypeName)
            w.string(o.timestampTypeName)
            o.filter.encode(into: &w)
        case .inject(let bytes):
            w.raw(bytes)
        case .setFilter(let f):
            f.encode(into: &w)
        case .statisticsRequest, .close, .listDevices, .filterSet, .end:
            break
        case .compileFilter(let c):
            w.u32(c.linkType); w.u32(c.snapshotLength); w.bool(c.byteSwapped); c.filter.encode(into: &w)
        case .ready(let r):
            w.u32(r.linkType); w.u32(r.snapshotLength); w.u8(r.timestampPrecision.rawValue); w.string(r.warning)
        case .packet(let h, let bytes):
            h.encode(into: &w); w.raw(bytes)
        case .injected(let n):
            w.u32(n)
        case .statistics(let s):
            w.u64(s.received); w.u64(s.droppedByKernel); w.u64(s.droppedByInterface); w.u64(s.sentByHelper)
        case .injectBatch(let batch):
            w.raw(batch.payload)
        case .injectedBatch(let r):
            w.u32(r.sent); w.u64(r.bytes); w.u32(r.failed); w.string(r.firstError)
        case .describeDevice(let device):
            w.string(device)
        case .deviceDetails(let d):
            for list in [d.linkTypes, d.timestampTypes] {
                w.u32(UInt32(list.count))
                for c in list { w.u32(UInt32(bitPattern: c.value)); w.string(c.name); w.string(c.description) }
            }
        case .devices(let devices):
            w.u32(UInt32(devices.count))
            for d in devices {
                w.string(d.name); w.string(d.description); w.u32(d.flags)
                w.u32(UInt32(d.addresses.count))
                for a in d.addresses {
                    w.u16(a.family)
                    w.shortBytes(a.address); w.shortBytes(a.netmask); w.shortBytes(a.broadcast); w.shortBytes(a.destination)
                }
            }
        case .program(let p):
            w.u32(p.linkType); w.u32(UInt32(p.instructions.count))
            for i in p.instructions { w.u16(i.code); w.u8(i.jt); w.u8(i.jf); w.u32(i.k) }
        case .error(let e):
            w.u16(e.code.rawValue); w.bool(e.fatal); w.string(e.message)
        }
    }
}

extension FilterSpec {
    func encode(into w: inout ByteWriter) {
        w.bool(optimize); w.u32(netmask); w.string(expression)
    }
}

extension PacketHeader {
    func encode(into w: inout ByteWriter) {
        w.u64(UInt64(bitPattern: seconds)); w.u32(nanoseconds); w.u32(captureLength); w.u32(wireLength)
    }
}
