import AsyncHTTPClient
import Foundation
import NIOCore

/// How one POST ended, and whether trying again could help.
enum AttemptResult: Equatable {
    case answered(status: Int)
    case timedOut(seconds: Double)
    case connectionFailed(String)
    /// The request could not even be built (a URL AsyncHTTPClient refuses).
    case invalid(String)

    var isDelivered: Bool {
        if case .answered(let status) = self { return (200..<300).contains(status) }
        return false
    }

    /// A server that is down, slow, overloaded or rate-limiting may be fine a moment later; any
    /// other 4xx (and a 3xx, since redirects are not followed) says the request itself is wrong.
    var isRetryable: Bool {
        switch self {
        case .answered(let status): status >= 500 || status == 429
        case .timedOut, .connectionFailed: true
        case .invalid: false
        }
    }

    var status: Int? {
        if case .answered(let status) = self { return status }
        return nil
    }

    /// The reason, without the attempt count.
    var reason: String {
        switch self {
        case .answered(let status): "HTTP \(status)"
        case .timedOut(let seconds): "timed out after \(Self.format(seconds)) s"
        case .connectionFailed(let why): why
        case .invalid(let why): why
        }
    }

    /// The reason with the number of attempts that ended so, e.g. `HTTP 500 after 4 attempts`.
    func summary(attempts: Int) -> String {
        guard attempts > 1 else { return reason }
        // "timed out after 1 s after 4 attempts" would read badly.
        if case .timedOut = self { return "\(reason) (\(attempts) attempts)" }
        return "\(reason) after \(attempts) attempts"
    }

    /// Sorts a thrown error into a timeout or a connection failure.
    static func from(_ error: Error, timeout: Double) -> AttemptResult {
        if let http = error as? HTTPClientError {
            if http == .deadlineExceeded || http == .readTimeout || http == .connectTimeout { return .timedOut(seconds: timeout) }
            if http == .invalidURL || http == .emptyHost || http == .emptyScheme || http.description.contains("unsupportedScheme") {
                return .invalid("invalid URL (\(http))")
            }
            return .connectionFailed("connection failed (\(http))")
        }
        if let io = error as? IOError, io.errnoCode == ECONNREFUSED { return .connectionFailed("connection refused") }
        // NIO reports a refused connect as NIOConnectionError (NIOPosix) around an IOError; its
        // text is the only part visible without importing the event loop implementation.
        let text = String(describing: error)
        if text.localizedCaseInsensitiveContains("connection refused") { return .connectionFailed("connection refused") }
        return .connectionFailed("connection failed (\(text))")
    }

    private static func format(_ seconds: Double) -> String {
        seconds == seconds.rounded() ? String(Int(seconds)) : String(seconds)
    }
}
