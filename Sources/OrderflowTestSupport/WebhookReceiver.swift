import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// A real HTTP server on 127.0.0.1 that records what webhooks post to it and answers as a test
/// says: a status, a few failures first, or an answer slower than the sender's timeout.
///
/// It is plain NIO on an event loop of its own, not Hummingbird: its handler must answer while the
/// test's thread (one of the two on the concurrency pool) blocks in `WebhookSender.deliver`, and
/// `stop()` must end every connection and every delayed answer with the loop.
public final class WebhookReceiver: Sendable {
    /// One request, as it arrived.
    public struct Request: Sendable {
        /// `POST`, …
        public var method: String
        /// The path and query.
        public var path: String
        /// The headers in arrival order (names as sent).
        public var headers: [(name: String, value: String)]
        /// The body's exact bytes.
        public var body: [UInt8]

        /// The first value of header `name`, compared without case.
        public func header(_ name: String) -> String? {
            headers.first { $0.name.caseInsensitiveCompare(name) == .orderedSame }?.value
        }

        /// The body as UTF-8 text.
        public var bodyText: String { String(decoding: body, as: UTF8.self) }
    }

    /// How the receiver answers.
    public struct Script: Sendable {
        /// The statuses of the first requests, in order (`[500, 500]`: two failures, then `status`).
        public var first: [Int] = []
        /// The status of every request after `first`.
        public var status: Int = 200
        /// How long each answer waits.
        public var delaySeconds: Double = 0

        /// A script; the default answers 200 at once.
        public init(first: [Int] = [], status: Int = 200, delaySeconds: Double = 0) {
            self.first = first
            self.status = status
            self.delaySeconds = delaySeconds
        }
    }

    /// The script and the requests, shared with the handlers on the event loop.
    fileprivate final class State: Sendable {
        struct Value {
            var script: Script
            var requests: [Request] = []
        }
        let value: Mutex<Value>
        init(script: Script) { value = Mutex(Value(script: script)) }

        /// Keeps `request` and says how to answer it.
        func record(_ request: Request) -> (status: Int, delay: Double) {
            value.withLock { s in
                let index = s.requests.count
                s.requests.append(request)
                let status = index < s.script.first.count ? s.script.first[index] : s.script.status
                return (status, s.script.delaySeconds)
            }
        }
    }

    private let group: MultiThreadedEventLoopGroup
    private let channel: any Channel
    private let state: State

    /// Where to post: `http://127.0.0.1:PORT/hook`.
    public let url: URL
    /// The port it listens on.
    public let port: Int

    /// Starts listening on a free loopback port; call `stop()` (or use `withWebhookReceiver`).
    public init(script: Script = Script()) throws {
        state = State(script: script)
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let state = self.state
        do {
            channel = try ServerBootstrap(group: group)
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                        try channel.pipeline.syncOperations.addHandler(RecordingHandler(state: state))
                    }
                }
                .bind(host: "127.0.0.1", port: 0).wait()
        } catch {
            try? group.syncShutdownGracefully()
            throw error
        }
        port = channel.localAddress?.port ?? 0
        url = URL(string: "http://127.0.0.1:\(port)/hook")!
    }

    /// Closes the listener, every connection and every pending answer. Calling it again does nothing.
    public func stop() {
        channel.close(promise: nil)
        try? group.syncShutdownGracefully()
    }

    /// Changes how later requests are answered.
    public func answer(_ script: Script) {
        state.value.withLock { $0.script = script }
    }

    /// Every request so far, in arrival order.
    public var requests: [Request] { state.value.withLock { $0.requests } }

    /// The requests once there are at least `count` of them (a separate process posts on its own
    /// time), or those there are after `timeout` seconds.
    public func waitForRequests(_ count: Int, timeout: Double = 10) -> [Request] {
        let end = Date().addingTimeInterval(timeout)
        while true {
            let now = requests
            if now.count >= count || Date() >= end { return now }
            Thread.sleep(forTimeInterval: 0.01)
        }
    }

    /// A loopback URL where nothing listens, so a connect is refused at once.
    ///
    /// The port was just bound and released; the kernel hands out ephemeral ports in turn, so
    /// another listener taking it within the test is not a practical worry.
    public static func downURL() throws -> URL {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { try? group.syncShutdownGracefully() }
        let channel = try ServerBootstrap(group: group).bind(host: "127.0.0.1", port: 0).wait()
        let port = channel.localAddress?.port ?? 0
        try channel.close().wait()
        return URL(string: "http://127.0.0.1:\(port)/hook")!
    }
}

/// Runs `body` with a started receiver, stopped afterwards however `body` ends.
public func withWebhookReceiver<T>(_ script: WebhookReceiver.Script = .init(), _ body: (WebhookReceiver) throws -> T) throws -> T {
    let receiver = try WebhookReceiver(script: script)
    defer { receiver.stop() }
    return try body(receiver)
}

/// Collects one request's parts and answers it as the script says.
private final class RecordingHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let state: WebhookReceiver.State
    private var head: HTTPRequestHead?
    private var body: [UInt8] = []

    init(state: WebhookReceiver.State) { self.state = state }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h):
            head = h
            body = []
        case .body(var buffer):
            body += buffer.readBytes(length: buffer.readableBytes) ?? []
        case .end:
            guard let head else { return }
            let request = WebhookReceiver.Request(
                method: head.method.rawValue, path: head.uri,
                headers: head.headers.map { (name: $0.name, value: $0.value) }, body: body)
            let (status, delay) = state.record(request)
            if delay > 0 {
                context.eventLoop.assumeIsolated().scheduleTask(in: .nanoseconds(Int64(delay * 1_000_000_000))) {
                    Self.respond(status, keepAlive: head.isKeepAlive, context: context)
                }
            } else {
                Self.respond(status, keepAlive: head.isKeepAlive, context: context)
            }
        }
    }

    private static func respond(_ status: Int, keepAlive: Bool, context: ChannelHandlerContext) {
        // A client that gave up has closed the connection; the late answer has nowhere to go.
        guard context.channel.isActive else { return }
        let text = Array("status \(status)\n".utf8)
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "text/plain")
        headers.add(name: "Content-Length", value: String(text.count))
        if !keepAlive { headers.add(name: "Connection", value: "close") }
        let head = HTTPResponseHead(version: .http1_1, status: HTTPResponseStatus(statusCode: status), headers: headers)
        context.write(NIOAny(HTTPServerResponsePart.head(head)), promise: nil)
        var buffer = context.channel.allocator.buffer(capacity: text.count)
        buffer.writeBytes(text)
        context.write(NIOAny(HTTPServerResponsePart.body(.byteBuffer(buffer))), promise: nil)
        context.writeAndFlush(NIOAny(HTTPServerResponsePart.end(nil)), promise: nil)
        if !keepAlive { context.close(promise: nil) }
    }
}
