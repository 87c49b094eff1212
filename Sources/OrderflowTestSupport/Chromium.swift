import CZlib
import Foundation

/// Headless Chromium (Debian's `chromium` package); missing is a failure that says how to install it.
public struct Chromium: Sendable {
    public let executable: String

    public static func locate() throws -> Chromium {
        let path = (ProcessInfo.processInfo.environment["PATH"] ?? "") + ":/usr/bin:/usr/local/bin"
        for dir in path.split(separator: ":") {
            for name in ["chromium", "chromium-browser", "google-chrome"] where FileManager.default.isExecutableFile(atPath: "\(dir)/\(name)") {
                return Chromium(executable: "\(dir)/\(name)")
            }
        }
        throw ChromiumMissing()
    }

    public struct ChromiumMissing: Error, CustomStringConvertible {
        public var description: String {
            "headless Chromium is needed to render report.html and is not installed; install it with: sudo apt-get install -y --no-install-recommends chromium (scripts/setup does this)"
        }
    }

    /// The flags every run uses; --no-sandbox: the sandbox refuses to run as root (CI containers).
    static func commonArguments(profile: String) -> [String] {
        ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars", "--no-first-run",
         "--user-data-dir=\(profile)"]
    }

    static func freshProfile() -> String {
        "\(NSTemporaryDirectory())of-chromium-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    }

    private func arguments(_ extra: [String], _ html: URL) -> [String] {
        Self.commonArguments(profile: Self.freshProfile()) + extra + [html.absoluteString]
    }

    /// A 1280×1600 screenshot of the page at `html`.
    public func screenshot(_ html: URL, to png: URL) throws {
        let r = try TestProgram.run(executable, arguments(["--window-size=1280,1600", "--screenshot=\(png.path)"], html))
        guard r.status == 0, FileManager.default.fileExists(atPath: png.path) else {
            throw ChromiumFailed(message: "screenshot failed (exit \(r.status)): \(r.error.suffix(2000))")
        }
    }

    /// The DOM after the page loaded, serialized.
    public func dumpDOM(_ html: URL) throws -> String {
        let r = try TestProgram.run(executable, arguments(["--dump-dom"], html))
        guard r.status == 0 else { throw ChromiumFailed(message: "--dump-dom failed (exit \(r.status)): \(r.error.suffix(2000))") }
        return String(decoding: r.output, as: UTF8.self)
    }

    public struct ChromiumFailed: Error, CustomStringConvertible {
        public var message: String
        public var description: String { "chromium: \(message)" }
    }
}

/// Just enough PNG to look at a screenshot: 8-bit RGB or RGBA, not interlaced.
public struct PNGImage {
    public let width: Int, height: Int
    private let channels: Int
    private let pixels: [UInt8]

    struct Invalid: Error, CustomStringConvertible {
        var description: String
    }

    public init(data: [UInt8]) throws {
        guard data.count > 8, data.prefix(8) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] else { throw Invalid(description: "not a PNG") }
        var i = 8
        var w = 0, h = 0, colorType = 0
        var idat: [UInt8] = []
        func be32(_ at: Int) -> Int { Int(data[at]) << 24 | Int(data[at + 1]) << 16 | Int(data[at + 2]) << 8 | Int(data[at + 3]) }
        while i + 8 <= data.count {
            let length = be32(i)
            let type = String(decoding: data[(i + 4)..<(i + 8)], as: UTF8.self)
            let body = (i + 8)..<(i + 8 + length)
            if type == "IHDR" {
                w = be32(body.lowerBound); h = be32(body.lowerBound + 4)
                guard data[body.lowerBound + 8] == 8, data[body.lowerBound + 12] == 0 else { throw Invalid(description: "only 8-bit, non-interlaced PNGs") }
                colorType = Int(data[body.lowerBound + 9])
            } else if type == "IDAT" {
                idat.append(contentsOf: data[body])
            } else if type == "IEND" {
                break
            }
            i = body.upperBound + 4 // skip CRC
        }
        guard colorType == 2 || colorType == 6 else { throw Invalid(description: "colour type \(colorType) not supported") }
        let channels = colorType == 6 ? 4 : 3
        let stride = w * channels
        var raw = [UInt8](repeating: 0, count: h * (stride + 1))
        var rawLength = uLongf(raw.count)
        let status = raw.withUnsafeMutableBufferPointer { out in
            idat.withUnsafeBufferPointer { uncompress(out.baseAddress, &rawLength, $0.baseAddress, uLong($0.count)) }
        }
        guard status == Z_OK, Int(rawLength) == raw.count else { throw Invalid(description: "IDAT does not inflate (\(status))") }
        // Undo the per-row filters (PNG spec §9).
        var pixels = [UInt8](repeating: 0, count: h * stride)
        for y in 0..<h {
            let filter = raw[y * (stride + 1)]
            for x in 0..<stride {
                let v = raw[y * (stride + 1) + 1 + x]
                let a = x >= channels ? Int(pixels[y * stride + x - channels]) : 0
                let b = y > 0 ? Int(pixels[(y - 1) * stride + x]) : 0
                let c = x >= channels && y > 0 ? Int(pixels[(y - 1) * stride + x - channels]) : 0
                let predictor: Int
                switch filter {
                case 0: predictor = 0
                case 1: predictor = a
                case 2: predictor = b
                case 3: predictor = (a + b) / 2
                case 4:
                    let p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c)
                    predictor = pa <= pb && pa <= pc ? a : (pb <= pc ? b : c)
                default: throw Invalid(description: "unknown filter \(filter)")
                }
                pixels[y * stride + x] = UInt8(truncatingIfNeeded: Int(v) + predictor)
            }
        }
        width = w; height = h
        self.channels = channels
        self.pixels = pixels
    }

    /// RGB(A) packed into one number, for comparing pixels.
    public func pixel(x: Int, y: Int) -> UInt32 {
        let at = (y * width + x) * channels
        var v: UInt32 = 0
        for k in 0..<channels { v = v << 8 | UInt32(pixels[at + k]) }
        return v
    }

    /// How much of the picture is not background: the share of sampled pixels that differ from
    /// the top-left one, and how many colours the first samples hold (a blank page has one).
    public func drawn() -> (share: Double, colours: Int) {
        let background = pixel(x: 0, y: 0)
        var differing = 0, sampled = 0
        var colours = Set<UInt32>()
        for y in stride(from: 0, to: height, by: 2) {
            for x in stride(from: 0, to: width, by: 2) {
                let p = pixel(x: x, y: y)
                sampled += 1
                if p != background { differing += 1 }
                if colours.count < 64 { colours.insert(p) }
            }
        }
        return (sampled == 0 ? 0 : Double(differing) / Double(sampled), colours.count)
    }
}
