import Crypto
import DefinitionFile
import Foundation
import Logging
import Notifications
import OrderflowTestSupport
import Synchronization
import Testing

/// Every test posts to a real receiver on loopback; backoffs are 0 or 0.05 s and timeouts at most
/// 1 s, so the suite takes about a second.
@Suite struct WebhookSenderTests {
    static let failed = RunNotification(
        event: .failed, runId: "20261202T101010123Z-nightly-ab12", historyId: 42, pipeline: "nightly", kind: "orders",
        outcome: "failed", message: "COPY failed: disk full", counts: ["read": 1200, "rejected": 3],
        inputs: ["feeds/orders-2026-12-02.csv.gz"], reportPath: "reports/nightly/20261202T101010123Z/report.json",
        startedAt: "2026-12-02T10:10:10.123Z", finishedAt: "2026-12-02T10:11:02.500Z")

    static func webhook(_ url: URL, _ change: (inout WebhookDefinition) -> Void = { _ in }) -> WebhookDefinition {
        var webhook = WebhookDefinition(url: url, timeoutSeconds: 1, retries: 3, backoffSeconds: 0)
        change(&webhook)
        return webhook
    }

    static func deliver(_ notification: RunNotification = failed, to webhooks: [WebhookDefinition], environment: [String: String] = [:], logs: LogRecorder = LogRecorder()) -> [WebhookDelivery] {
        WebhookSender(logger: logs.logger).deliver(notification, to: webhooks, environment: environment)
    }

    @Test func thePayloadArrivesAsSentWithItsHeaders() throws {
        try withWebhookReceiver { receiver in
            let deliveries = Self.deliver(to: [Self.webhook(receiver.url)])
            #expect(deliveries == [WebhookDelivery(url: receiver.url.absoluteString, event: "failed", delivered: true, attempts: 1, status: 200)])
            let request = try #require(receiver.requests.first)
            #expect(receiver.requests.count == 1)
            #expect(request.method == "POST")
            #expect(request.path == "/hook")
            #expect(try JSONDecoder().decode(RunNotification.self, from: Data(request.body)) == Self.failed)
            #expect(request.body == (try Self.failed.jsonBody()))
            #expect(request.header("content-type") == "application/json")
            #expect(request.header("user-agent") == "orderflow")
            #expect(request.header("x-orderflow-event") == "failed")
            #expect(UUID(uuidString: request.header("x-orderflow-delivery") ?? "") != nil)
            #expect(request.header("x-orderflow-signature") == nil)
        }
    }

    @Test func theBodyIsDeterministic() throws {
        let text = String(decoding: try Self.failed.jsonBody(), as: UTF8.self)
        #expect(text.hasPrefix(#"{"counts":{"read":1200,"rejected":3},"event":"failed","finishedAt":"#))
        #expect(text.contains(#""reportPath":"reports/nightly/20261202T101010123Z/report.json""#))
    }

    @Test func theSignatureVerifiesWithTheSecret() throws {
        try withWebhookReceiver { receiver in
            let secret = "correct horse battery staple"
            let deliveries = Self.deliver(to: [Self.webhook(receiver.url) { $0.secretEnv = "HOOK_SECRET" }], environment: ["HOOK_SECRET": secret])
            #expect(deliveries.first?.delivered == true)
            let request = try #require(receiver.requests.first)
            let expected = HMAC<SHA256>.authenticationCode(for: request.body, using: SymmetricKey(data: Data(secret.utf8)))
            let hex = Data(expected).map { String(format: "%02x", $0) }.joined()
            #expect(request.header("x-orderflow-signature") == "sha256=\(hex)")
            #expect(HMAC<SHA256>.isValidAuthenticationCode(
                Data(hexPairs: String(request.header("x-orderflow-signature")!.dropFirst("sha256=".count))),
                authenticating: request.body, using: SymmetricKey(data: Data(secret.utf8))))
        }
    }

    @Test func aWebhookNotSubscribedToTheEventGetsNothing() throws {
        try withWebhookReceiver { onFailures in
            try withWebhookReceiver { onApplies in
                let deliveries = Self.deliver(to: [
                    Self.webhook(onApplies.url) { $0.on = [.applied, .appliedWithRejects] },
                    Self.webhook(onFailures.url),
                ])
                #expect(deliveries.map(\.url) == [onFailures.url.absoluteString])
                #expect(onFailures.requests.count == 1)
                #expect(onApplies.requests.isEmpty)
            }
        }
    }

    @Test func noSubscribedWebhookIsNoDelivery() {
        #expect(Self.deliver(to: []).isEmpty)
    }

    @Test func slackGetsOneReadableLine() throws {
        try withWebhookReceiver { receiver in
            var notification = Self.failed
            notification.message = "feed <orders> & more"
            _ = Self.deliver(notification, to: [Self.webhook(receiver.url) { $0.format = .slack }])
            let request = try #require(receiver.requests.first)
            let body = try JSONDecoder().decode([String: String].self, from: Data(request.body))
            #expect(body == ["text": "orderflow nightly: failed — feed &lt;orders&gt; &amp; more (run 20261202T101010123Z-nightly-ab12, report reports/nightly/20261202T101010123Z/report.json)"])
            #expect(request.header("content-type") == "application/json")
        }
    }

    @Test func twoFailuresThenSuccessIsDeliveredOnTheThirdAttemptWithOneDeliveryId() throws {
        try withWebhookReceiver(.init(first: [500, 500])) { receiver in
            let deliveries = Self.deliver(to: [Self.webhook(receiver.url) { $0.backoffSeconds = 0.05 }])
            #expect(deliveries.first?.delivered == true)
            #expect(deliveries.first?.attempts == 3)
            #expect(deliveries.first?.status == 200)
            let ids = Set(receiver.requests.map { $0.header("x-orderflow-delivery") })
            #expect(receiver.requests.count == 3)
            #expect(ids.count == 1)
            #expect(Set(receiver.requests.map(\.body)).count == 1)
        }
    }

    @Test func aServerThatAlwaysFailsGetsRetriesPlusOneAttempts() throws {
        try withWebhookReceiver(.init(status: 500)) { receiver in
            let logs = LogRecorder()
            let deliveries = Self.deliver(to: [Self.webhook(receiver.url) { $0.retries = 2 }], logs: logs)
            #expect(deliveries == [WebhookDelivery(
                url: receiver.url.absoluteString, event: "failed", delivered: false, attempts: 3, status: 500, error: "HTTP 500 after 3 attempts")])
            #expect(receiver.requests.count == 3)
            #expect(logs.messages.contains { $0.level == .warning && $0.text.contains("not delivered") && $0.text.contains("HTTP 500 after 3 attempts") })
        }
    }

    @Test func tooManyRequestsIsRetried() throws {
        try withWebhookReceiver(.init(first: [429])) { receiver in
            let deliveries = Self.deliver(to: [Self.webhook(receiver.url)])
            #expect(deliveries.first?.delivered == true)
            #expect(deliveries.first?.attempts == 2)
        }
    }

    @Test func aClientErrorIsNotRetried() throws {
        try withWebhookReceiver(.init(status: 400)) { receiver in
            let deliveries = Self.deliver(to: [Self.webhook(receiver.url)])
            #expect(deliveries.first?.delivered == false)
            #expect(deliveries.first?.attempts == 1)
            #expect(deliveries.first?.status == 400)
            #expect(deliveries.first?.error == "HTTP 400")
            #expect(receiver.requests.count == 1)
        }
    }

    @Test func aDownReceiverIsNotDeliveredAndNothingThrows() throws {
        let down = try WebhookReceiver.downURL()
        let logs = LogRecorder()
        let deliveries = Self.deliver(to: [Self.webhook(down) { $0.retries = 2 }], logs: logs)
        let delivery = try #require(deliveries.first)
        #expect(!delivery.delivered)
        #expect(delivery.attempts == 3)
        #expect(delivery.status == nil)
        #expect(delivery.error == "connection refused after 3 attempts")
        #expect(logs.messages.contains { $0.level == .warning })
    }

    @Test func aReceiverSlowerThanTheTimeoutTimesOut() throws {
        try withWebhookReceiver(.init(delaySeconds: 3)) { receiver in
            let started = Date()
            let deliveries = Self.deliver(to: [Self.webhook(receiver.url) { $0.timeoutSeconds = 0.3; $0.retries = 0 }])
            #expect(Date().timeIntervalSince(started) < 2)
            #expect(deliveries.first?.delivered == false)
            #expect(deliveries.first?.attempts == 1)
            #expect(deliveries.first?.error == "timed out after 0.3 s")
        }
    }

    @Test func aMissingSecretSendsNothing() throws {
        try withWebhookReceiver { receiver in
            let deliveries = Self.deliver(to: [Self.webhook(receiver.url) { $0.secretEnv = "NOT_SET_ANYWHERE" }])
            #expect(deliveries.first?.delivered == false)
            #expect(deliveries.first?.attempts == 0)
            #expect(deliveries.first?.error?.contains("NOT_SET_ANYWHERE") == true)
            #expect(receiver.requests.isEmpty)
        }
    }

    @Test func credentialsInTheURLStayOutOfTheResultAndTheLog() throws {
        try withWebhookReceiver(.init(status: 503)) { receiver in
            var parts = URLComponents(url: receiver.url, resolvingAgainstBaseURL: false)!
            parts.user = "bot"
            parts.password = "hunter2"
            parts.query = "token=abc123"
            let logs = LogRecorder()
            let deliveries = Self.deliver(to: [Self.webhook(parts.url!) { $0.retries = 0 }], logs: logs)
            #expect(deliveries.first?.url == receiver.url.absoluteString)
            #expect(receiver.requests.first?.path == "/hook?token=abc123")
            #expect(!logs.messages.isEmpty)
            #expect(!logs.messages.contains { $0.text.contains("hunter2") || $0.text.contains("abc123") })
        }
    }

    @Test(arguments: [
        ("applied", 0, NotifyEvent.applied), ("applied", 2, .appliedWithRejects), ("dry_run", 5, .dryRun),
        ("skipped", 0, .skipped), ("aborted", 0, .aborted), ("failed", 0, .failed), ("cancelled", 0, .cancelled),
        ("something new", 0, .failed),
    ])
    func anOutcomeHasItsEvent(outcome: String, rejected: Int, event: NotifyEvent) {
        #expect(RunNotification.event(outcome: outcome, rejected: rejected) == event)
    }
}

/// Keeps what the sender logs, each message with its metadata flattened into one text.
final class LogRecorder: Sendable {
    struct Message: Sendable {
        var level: Logger.Level
        var text: String
    }

    private let kept = Mutex<[Message]>([])

    var messages: [Message] { kept.withLock { $0 } }

    var logger: Logger {
        Logger(label: "orderflow.notify") { _ in Handler(recorder: self) }
    }

    fileprivate func keep(_ message: Message) { kept.withLock { $0.append(message) } }

    private struct Handler: LogHandler {
        let recorder: LogRecorder
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(level: Logger.Level, message: Logger.Message, metadata extra: Logger.Metadata?, source: String, file: String, function: String, line: UInt) {
            let all = metadata.merging(extra ?? [:]) { $1 }
            let text = "\(message) " + all.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            recorder.keep(Message(level: level, text: text))
        }
    }
}

extension Data {
    /// Bytes from lowercase hex, for checking a signature the way a receiver would.
    init(hexPairs hex: String) {
        let chars = Array(hex.utf8)
        self.init(stride(from: 0, to: chars.count - 1, by: 2).compactMap { UInt8(String(decoding: chars[$0...$0 + 1], as: UTF8.self), radix: 16) })
    }
}
