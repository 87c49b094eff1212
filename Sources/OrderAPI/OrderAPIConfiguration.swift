import Foundation
import HTTPTypes
import Hummingbird
import Logging
import OrderModel
import PostgresClient

/// Everything `orderflow serve` decides before the server starts.
public struct OrderAPIConfiguration: Sendable {
    public var host: String
    public var port: Int
    /// Accepted bearer tokens; empty means no authentication.
    public var tokens: [String]
    /// Allow a non-loopback address without tokens.
    public var insecure: Bool
    /// Largest request body accepted (413 above it).
    public var maxBodyBytes: Int

    public init(host: String = "127.0.0.1", port: Int = 3000, tokens: [String] = [], insecure: Bool = false,
                maxBodyBytes: Int = 1 << 20) {
        self.host = host
        self.port = port
        self.tokens = tokens
        self.insecure = insecure
        self.maxBodyBytes = maxBodyBytes
    }

    /// Refuses to expose an unauthenticated API beyond this machine unless told `--insecure`.
    public func validate() throws(OrderAPIConfigurationError) {
        if tokens.isEmpty && !insecure && !Self.isLoopback(host) {
            throw OrderAPIConfigurationError(message: "refusing to listen on \(host) without authentication: set ORDERFLOW_API_TOKENS or --tokens-file, or pass --insecure")
        }
        if !(0...65535).contains(port) { throw OrderAPIConfigurationError(message: "port \(port) is out of range") }
    }

    static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host == "[::1]" || host.hasPrefix("127.")
    }

    /// Tokens from a comma- or newline-separated list (the environment variable or a file's
    /// text); blank entries and `#` comment lines are ignored.
    public static func parseTokens(_ text: String) -> [String] {
        text.split(whereSeparator: { $0 == "," || $0 == "\n" || $0 == "\r" })
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty && !$0.hasPrefix("#") }
    }
}

/// A configuration that must not be served.
public struct OrderAPIConfigurationError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}
