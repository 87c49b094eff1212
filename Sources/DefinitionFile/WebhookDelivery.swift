import Foundation

/// What became of one webhook's notification; the run's report and history keep it.
public struct WebhookDelivery: Codable, Sendable, Equatable {
    /// The webhook's URL without userinfo, query or fragment, which may carry tokens.
    public var url: String
    /// The event that was sent.
    public var event: String
    /// Whether a 2xx answer came.
    public var delivered: Bool
    /// How many requests were made.
    public var attempts: Int
    /// The last HTTP status, when an answer came at all.
    public var status: Int?
    /// Why it was not delivered.
    public var error: String?

    /// A result.
    public init(url: String, event: String, delivered: Bool, attempts: Int, status: Int? = nil, error: String? = nil) {
        self.url = url
        self.event = event
        self.delivered = delivered
        self.attempts = attempts
        self.status = status
        self.error = error
    }

    /// `url` without the parts that may hold credentials, for reports and logs.
    public static func redacted(_ url: URL) -> String {
        guard var parts = URLComponents(url: url, resolvingAgainstBaseURL: false) else { return "(unparseable URL)" }
        parts.user = nil
        parts.password = nil
        parts.query = nil
        parts.fragment = nil
        return parts.string ?? "(unparseable URL)"
    }
}
