/// Bounds on decompressed output, so a small hostile gzip file (a "bomb") cannot fill the disk or
/// spin for hours.
public struct DecompressionLimits: Sendable, Hashable {
    /// The most bytes a whole input may inflate to.
    public var maxOutputBytes: Int64
    /// The most output bytes per compressed input byte; deflate tops out near 1032:1, so only
    /// pathological inputs get near the default.
    public var maxRatio: Int64
    /// The ratio is only judged after this much output, because tiny inputs have meaningless ratios.
    public var ratioCheckThreshold: Int64

    /// Defaults suited to real order feeds: 64 GiB, ratio 1000, judged after 1 MiB.
    public init(maxOutputBytes: Int64 = 64 << 30, maxRatio: Int64 = 1000, ratioCheckThreshold: Int64 = 1 << 20) {
        self.maxOutputBytes = maxOutputBytes
        self.maxRatio = maxRatio
        self.ratioCheckThreshold = ratioCheckThreshold
    }

    /// No limits at all; for trusted inputs.
    public static let unlimited = DecompressionLimits(maxOutputBytes: .max, maxRatio: .max, ratioCheckThreshold: .max)
}
