import Crypto

/// The `X-Orderflow-Signature` value: it lets a receiver check that a body came from a holder of
/// the shared secret and was not changed on the way.
public enum WebhookSignature {
    /// `sha256=` and the lowercase hex HMAC-SHA256 of `body`, keyed with `secret`'s UTF-8 bytes.
    public static func header(body: [UInt8], secret: String) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: body, using: SymmetricKey(data: Array(secret.utf8)))
        return "sha256=" + mac.map { hex($0) }.joined()
    }

    private static func hex(_ byte: UInt8) -> String {
        let digits = Array("0123456789abcdef")
        return String([digits[Int(byte >> 4)], digits[Int(byte & 0x0f)]])
    }
}
