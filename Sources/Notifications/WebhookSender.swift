import AsyncHTTPClient
import DefinitionFile
import Foundation
import Logging
import NIOCore
import NIOHTTP1

/// Posts a finished run's notification to the webhooks subscribed to its event, retrying what
/// may pass on a second try, and reports each result. It never throws: a run's outcome does not
/// depend on whether anyone could be told about it.
public struct WebhookSender: Sendable {
    private let logger: Logger

    /// A sender that logs each failed attempt and each undelivered notification to `logger`.
    public init(logger: Logger = Logger(label: "orderflow.notify")) {
        self.logger = logger
    }

    /// Sends `notification` to each webhook whose `on` has its event, one after the other, and
    /// blocks until all are delivered or given up. Call it from a plain thread (the command's),
    /// not from an event loop; `environment` holds the secrets that `secret_env` names.
    public func deliver(
        _ notification: RunNotification, to webhooks: [WebhookDefinition],
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) -> [WebhookDelivery] {
        let subscribed = webhooks.filter { $0.on.contains { $0.rawValue == notification.event } }
        guard !subscribed.isEmpty else { return [] }
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: Self.configuration(for: subscribed))
        defer {
            do { try client.syncShutdown() } catch {
                logger.debug("webhook client shutdown failed", metadata: ["error": "\(error)"])
            }
        }
        return subscribed.map { deliver(notification, to: $0, environment: environment, client: client) }
    }

    private static func configuration(for webhooks: [WebhookDefinition]) -> HTTPClient.Configuration {
        var configuration = HTTPClient.Configuration()
        // A redirect would carry a signed body to a place the pipeline file does not name.
        configuration.redirectConfiguration = .disallow
        // The retries below are the only ones, so that `attempts` and the backoff mean what the
        // file says; the client's own reconnect loop would hide a refused connection until its
        // connect timeout.
        configuration.connectionPool.retryConnectionEstablishment = false
        let longest = webhooks.map(\.timeoutSeconds).max() ?? 10
        configuration.timeout = .init(connect: Self.amount(longest))
        return configuration
    }

    private func deliver(
        _ notification: RunNotification, to webhook: WebhookDefinition, environment: [String: String], client: HTTPClient
    ) -> WebhookDelivery {
        let url = WebhookDelivery.redacted(webhook.url)
        var logger = self.logger
        logger[metadataKey: "webhook"] = "\(url)"
        logger[metadataKey: "event"] = "\(notification.event)"
        func failed(_ why: String, attempts: Int, status: Int? = nil) -> WebhookDelivery {
            logger.warning("webhook not delivered", metadata: ["error": "\(why)"])
            return WebhookDelivery(url: url, event: notification.event, delivered: false, attempts: attempts, status: status, error: why)
        }

        let body: [UInt8]
        do { body = try notification.body(for: webhook.format) } catch {
            return failed("could not encode the payload (\(error))", attempts: 0)
        }
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/json")
        headers.add(name: "User-Agent", value: "orderflow")
        headers.add(name: "X-Orderflow-Event", value: notification.event)
        // One id for every attempt, so that a receiver can drop a retry it already processed.
        let deliveryId = UUID().uuidString.lowercased()
        headers.add(name: "X-Orderflow-Delivery", value: deliveryId)
        logger[metadataKey: "delivery"] = "\(deliveryId)"
        if let name = webhook.secretEnv {
            guard let secret = environment[name], !secret.isEmpty else {
                return failed("the secret variable \(name) is not set", attempts: 0)
            }
            headers.add(name: "X-Orderflow-Signature", value: WebhookSignature.header(body: body, secret: secret))
        }

        var attempts = 0
        var wait = webhook.backoffSeconds
        while true {
            attempts += 1
            let result = attempt(url: webhook.url, headers: headers, body: body, timeout: webhook.timeoutSeconds, client: client)
            if result.isDelivered {
                logger.info("webhook delivered", metadata: ["attempts": "\(attempts)", "status": "\(result.status ?? 0)"])
                return WebhookDelivery(url: url, event: notification.event, delivered: true, attempts: attempts, status: result.status)
            }
            guard result.isRetryable, attempts <= webhook.retries else {
                return failed(result.summary(attempts: attempts), attempts: attempts, status: result.status)
            }
            logger.notice("webhook attempt failed, retrying", metadata: [
                "attempt": "\(attempts)", "error": "\(result.reason)", "wait_seconds": "\(wait)",
            ])
            if wait > 0 { Thread.sleep(forTimeInterval: wait) }
            wait *= 2
        }
    }

    private func attempt(url: URL, headers: HTTPHeaders, body: [UInt8], timeout: Double, client: HTTPClient) -> AttemptResult {
        do {
            let request = try HTTPClient.Request(url: url.absoluteString, method: .POST, headers: headers, body: .bytes(body))
            let response = try client.execute(request: request, deadline: .now() + Self.amount(timeout)).wait()
            return .answered(status: Int(response.status.code))
        } catch {
            return AttemptResult.from(error, timeout: timeout)
        }
    }

    private static func amount(_ seconds: Double) -> TimeAmount {
        .nanoseconds(Int64((seconds * 1_000_000_000).rounded()))
    }
}
