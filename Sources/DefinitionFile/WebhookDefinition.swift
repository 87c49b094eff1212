import Foundation

/// What happened to a run, as a webhook subscribes to it in `notify[].on`.
public enum NotifyEvent: String, CaseIterable, Sendable, Codable {
    case applied
    case appliedWithRejects = "applied_with_rejects"
    case dryRun = "dry_run"
    case skipped
    case aborted
    case failed
    case cancelled

    /// The events a webhook gets when its `on` is omitted: the ones someone must act on.
    public static let needsAttention: [NotifyEvent] = [.failed, .aborted, .cancelled]
}

/// The body a webhook receives.
public enum WebhookFormat: String, CaseIterable, Sendable, Codable {
    /// The full `RunNotification` as JSON.
    case json
    /// `{"text": "…"}`, which Slack's incoming webhooks (and Mattermost's) post as a message.
    case slack
}

/// One entry of a pipeline file's `notify:` list: where to post, on which events, and how hard
/// to try.
public struct WebhookDefinition: Sendable, Equatable {
    /// Where to POST (http or https).
    public var url: URL
    /// The events this webhook is sent.
    public var on: [NotifyEvent]
    /// The environment variable holding the HMAC key; nil sends no signature.
    public var secretEnv: String?
    /// The body's shape.
    public var format: WebhookFormat
    /// The limit of one attempt, connect to last byte.
    public var timeoutSeconds: Double
    /// Attempts after the first one.
    public var retries: Int
    /// The wait before the first retry; each later wait is twice the one before.
    public var backoffSeconds: Double

    /// The keys a `notify:` entry may have.
    public static let keys: Set<String> = ["url", "on", "secret_env", "format", "timeout_seconds", "retries", "backoff_seconds"]

    /// A webhook with the defaults of an entry that only names its `url`.
    public init(
        url: URL, on: [NotifyEvent] = NotifyEvent.needsAttention, secretEnv: String? = nil, format: WebhookFormat = .json,
        timeoutSeconds: Double = 10, retries: Int = 3, backoffSeconds: Double = 1
    ) {
        self.url = url
        self.on = on
        self.secretEnv = secretEnv
        self.format = format
        self.timeoutSeconds = timeoutSeconds
        self.retries = retries
        self.backoffSeconds = backoffSeconds
    }

    /// The webhooks under `key` of a definition's top-level mapping (`[]` when it has none).
    public static func list(in map: YAMLMap, key: String = "notify") throws -> [WebhookDefinition] {
        try map.mapList(key, expected: "a list of webhooks (each a mapping with a url)").map(parse)
    }

    /// The name of the variable that `secret_env` names when `environment` lacks it or holds an
    /// empty value: the run must not start then, or every signature check would fail silently.
    public func missingSecret(in environment: [String: String]) -> String? {
        guard let secretEnv else { return nil }
        return (environment[secretEnv] ?? "").isEmpty ? secretEnv : nil
    }

    private static func parse(_ entry: YAMLMap) throws -> WebhookDefinition {
        var entry = entry
        try entry.allowOnly(keys)
        var webhook = WebhookDefinition(url: try url(in: entry))
        if entry.map["on"] != nil { webhook.on = try events(in: entry) }
        if let name = try entry.string("secret_env") {
            guard isVariableName(name) else {
                throw entry.fail(entry.key("secret_env"), "the name of an environment variable (letters, digits, _)")
            }
            webhook.secretEnv = name
        }
        if let format = try entry.string("format") {
            guard let f = WebhookFormat(rawValue: format) else {
                throw entry.fail(entry.key("format"), "json or slack")
            }
            webhook.format = f
        }
        // The bounds keep one run's worst case in minutes, not hours: 11 attempts of 300 s at most.
        if let t = try entry.number("timeout_seconds", in: 0.001...300) { webhook.timeoutSeconds = t }
        if let r = try entry.wholeNumber("retries", in: 0...10) { webhook.retries = r }
        if let b = try entry.number("backoff_seconds", in: 0...60) { webhook.backoffSeconds = b }
        return webhook
    }

    private static func url(in entry: YAMLMap) throws -> URL {
        let text = try entry.string("url", required: true) ?? ""
        guard let parts = URLComponents(string: text),
              let scheme = parts.scheme?.lowercased(), scheme == "http" || scheme == "https",
              let host = parts.host, !host.isEmpty,
              let url = parts.url
        else { throw entry.fail(entry.key("url"), "an http:// or https:// URL with a host") }
        return url
    }

    private static func events(in entry: YAMLMap) throws -> [NotifyEvent] {
        let names = try entry.stringList("on")
        let known = NotifyEvent.allCases.map(\.rawValue).joined(separator: ", ")
        var events: [NotifyEvent] = []
        for name in names {
            guard let event = NotifyEvent(rawValue: name) else {
                throw entry.fail(entry.key("on"), "events from \(known) (not \"\(name)\")")
            }
            if !events.contains(event) { events.append(event) }
        }
        guard !events.isEmpty else { throw entry.fail(entry.key("on"), "at least one event of \(known)") }
        return events
    }

    private static func isVariableName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, first == "_" || (first.isASCII && CharacterSet.letters.contains(first)) else { return false }
        return name.unicodeScalars.allSatisfy { $0 == "_" || ($0.isASCII && CharacterSet.alphanumerics.contains($0)) }
    }
}
