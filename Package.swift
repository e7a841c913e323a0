// swift-tools-version:6.0
//
// swiftcap: privilege-separated packet capture for Swift on Linux.
//
// Processes and where they live:
//   Sources/PacketCapture   the client library an app links (no libpcap, no libcap)
//   Sources/SwiftcapWire    the wire protocol, shared by client and helper
//   Helper/                 the privileged helper process (libpcap, libcap, seccomp)
//   Sources/swiftcap        the CLI, built on PacketCapture's public API only
import PackageDescription

let package = Package(
    name: "swiftcap",
    // Linux only: SwiftPM cannot declare that, so no `platforms` entry pretends otherwise;
    // PacketCapture and the helper stop a build elsewhere with an #error naming why
    // (Sources/PacketCapture/Platform.swift, Helper/swiftcap-helper/Platform.swift).
    products: [
        .library(name: "PacketCapture", targets: ["PacketCapture"]),
        .library(name: "PacketDecoding", targets: ["PacketDecoding"]),
        .executable(name: "swiftcap", targets: ["swiftcap"]),
        .executable(name: "swiftcap-helper", targets: ["swiftcap-helper"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // MARK: Shared

        .target(name: "SwiftcapWire"),

        // MARK: Decoding (any bytes; no dependency on the capture code)

        .target(
            name: "PacketDecoding",
            // Non-escapable header views over RawSpan (`~Escapable`, `@_lifetime`).
            swiftSettings: [.enableExperimentalFeature("Lifetimes")]
        ),

        // MARK: Client side

        .target(name: "CPacketCaptureShims"),
        .target(
            name: "PacketCapture",
            dependencies: ["SwiftcapWire", "CPacketCaptureShims"]
        ),
        .executableTarget(
            name: "swiftcap",
            dependencies: [
                "PacketCapture",
                "PacketDecoding",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        // MARK: Helper (privileged process)

        .target(
            name: "CSwiftcapHelper",
            path: "Helper/CSwiftcapHelper",
            // libpcap linked statically, its D-Bus backend stubbed (dbus_absent.c): the
            // privileged process loads no D-Bus/systemd/gcrypt chain and starts faster.
            linkerSettings: [.linkedLibrary(":libpcap.a"), .linkedLibrary("cap")]
        ),
        .executableTarget(
            name: "swiftcap-helper",
            dependencies: ["SwiftcapWire", "CSwiftcapHelper"],
            path: "Helper/swiftcap-helper",
            // Under file capabilities the loader runs in secure mode and ignores
            // $ORIGIN, so the Swift runtime must be inside the binary.
            linkerSettings: [.unsafeFlags(["-static-stdlib"])]
        ),

        // MARK: Benchmarks

        .executableTarget(
            name: "swiftcap-bench",
            dependencies: ["PacketCapture"],
            path: "bench/swiftcap-bench"
        ),
        .executableTarget(
            name: "swiftcap-decode-bench",
            dependencies: ["PacketCapture", "PacketDecoding"],
            path: "bench/decode-bench"
        ),

        // MARK: Tests

        .target(
            name: "TestSupport",
            dependencies: ["PacketCapture", "SwiftcapWire"],
            path: "Tests/TestSupport"
        ),
        .testTarget(name: "SwiftcapWireTests", dependencies: ["SwiftcapWire"]),
        .testTarget(name: "PacketCaptureTests", dependencies: ["PacketCapture", "TestSupport"], exclude: ["Samples"]),
        .testTarget(name: "PacketDecodingTests", dependencies: ["PacketDecoding", "PacketCapture", "TestSupport"]),
        .testTarget(name: "IntegrationTests", dependencies: ["PacketCapture", "SwiftcapWire", "TestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
