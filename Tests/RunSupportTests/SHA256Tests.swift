import Crypto
import Foundation
import RunSupport
import Testing

private func sha256Hex(_ bytes: [UInt8]) -> String {
    ContentHash.sha256Hex(bytes)
}

/// Pseudo-random but reproducible bytes, so failures can be replayed.
private func testBytes(count: Int, seed: UInt64 = 0x5EED) -> [UInt8] {
    var state = seed
    return (0..<count).map { _ in
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return UInt8(truncatingIfNeeded: state >> 33)
    }
}

/// Test vectors for the digests every report and ledger stores (kept from the hand-written
/// SHA-256 that swift-crypto replaced).
@Suite("SHA256")
struct SHA256Tests {
    // FIPS 180-4 examples (NIST CSRC "Examples with intermediate values", SHA-256).
    @Test("NIST vectors", arguments: [
        ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        ("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
        ("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
         "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"),
    ])
    func vectors(message: String, expected: String) {
        #expect(sha256Hex(Array(message.utf8)) == expected)
        var hasher = SHA256()
        hasher.update(data: Array(message.utf8))
        #expect(ContentHash.hex(hasher.finalize()) == expected)
    }

    @Test("one million 'a', fed in uneven pieces")
    func millionA() {
        let expected = "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"
        let message = [UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)
        #expect(sha256Hex(message) == expected)
        var hasher = SHA256()
        var offset = 0
        var step = 1
        while offset < message.count {
            let end = min(message.count, offset + step)
            message[offset..<end].withUnsafeBytes { hasher.update(bufferPointer: $0) }
            offset = end
            step = step * 3 % 1_001 + 1
        }
        #expect(ContentHash.hex(hasher.finalize()) == expected)
    }

    @Test("chunked updates give the one-shot digest", arguments: [1, 2, 3, 7, 55, 56, 63, 64, 65, 127, 128, 1000, 4096])
    func chunked(chunkSize: Int) {
        let message = testBytes(count: 10_007)
        let expected = SHA256.hash(data: message)
        var hasher = SHA256()
        for start in stride(from: 0, to: message.count, by: chunkSize) {
            message[start..<min(message.count, start + chunkSize)].withUnsafeBytes { hasher.update(bufferPointer: $0) }
        }
        #expect(hasher.finalize() == expected)
        // Empty updates change nothing, and finalize is stable.
        #expect(hasher.finalize() == expected)
    }

    @Test("agrees with sha256sum on files around every padding boundary and on a large file")
    func agreesWithSha256sum() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sha256-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        // 55/56 and 119/120 decide whether the length fits in the last block.
        let lengths = [0, 1, 55, 56, 57, 63, 64, 65, 119, 120, 121, 128, 1_048_575, 1_048_576, 3_000_001]
        var paths: [String] = []
        for length in lengths {
            let path = directory.appendingPathComponent("f\(length)").path
            try Data(testBytes(count: length, seed: UInt64(length))).write(to: URL(fileURLWithPath: path))
            paths.append(path)
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
        process.arguments = paths
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        let expected = output.split(separator: "\n").map { String($0.prefix(64)) }
        #expect(expected.count == paths.count)
        for (path, digest) in zip(paths, expected) {
            #expect(try ContentHash.sha256Hex(ofFile: path) == digest, "\(path)")
        }
    }

    @Test("a missing file is an error naming it")
    func missingFile() {
        #expect(throws: (any Error).self) { try ContentHash.sha256Hex(ofFile: "/nonexistent/feed.csv.gz") }
    }
}
