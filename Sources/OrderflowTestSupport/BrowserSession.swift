import Foundation

/// A headless Chromium driven over the DevTools protocol, for pages that need more than one
/// load: a login form, cookies, keyboard focus. The protocol runs over two pipes
/// (`--remote-debugging-pipe`: the browser reads commands on fd 3 and answers on fd 4, each
/// message JSON ended by a NUL), so no port and no WebSocket client are needed.
///
/// One page (tab); every call blocks until the browser answers or `timeout` passes.
public final class BrowserSession {
    private let pid: pid_t
    private let commands: Int32
    private let answers: Int32
    private var buffer: [UInt8] = []
    private var nextId = 0
    private var events: [[String: Any]] = []
    private var sessionId = ""
    private let profile: String
    public var timeout: Double = 30

    public init(_ chromium: Chromium, width: Int = 1280, height: Int = 1000) throws {
        var toBrowser: [Int32] = [0, 0], fromBrowser: [Int32] = [0, 0]
        // Close-on-exec, so no other child inherits them (a pipe held open elsewhere never ends).
        guard pipe(&toBrowser) == 0, pipe(&fromBrowser) == 0 else { throw Failure("pipe: \(String(cString: strerror(errno)))") }
        for fd in toBrowser + fromBrowser { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        profile = Chromium.freshProfile()
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        // Through two free numbers above all four first: a pipe end that already is fd 3 or 4
        // would otherwise be overwritten by the other's dup2.
        let spare = max(toBrowser[0], toBrowser[1], fromBrowser[0], fromBrowser[1]) + 1
        posix_spawn_file_actions_adddup2(&actions, toBrowser[0], spare)
        posix_spawn_file_actions_adddup2(&actions, fromBrowser[1], spare + 1)
        posix_spawn_file_actions_adddup2(&actions, spare, 3)
        posix_spawn_file_actions_adddup2(&actions, spare + 1, 4)
        posix_spawn_file_actions_addclose(&actions, spare)
        posix_spawn_file_actions_addclose(&actions, spare + 1)
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        let arguments = [chromium.executable] + Chromium.commonArguments(profile: profile)
            + ["--remote-debugging-pipe", "--window-size=\(width),\(height)", "about:blank"]
        let argv = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var child: pid_t = 0
        let rc = posix_spawn(&child, chromium.executable, &actions, nil, argv, environ)
        close(toBrowser[0])
        close(fromBrowser[1])
        guard rc == 0 else { throw Failure("cannot start \(chromium.executable): \(String(cString: strerror(rc)))") }
        pid = child
        commands = toBrowser[1]
        answers = fromBrowser[0]
        // A tab of our own, attached in flat mode: its commands carry our session id.
        let target = try call("Target.createTarget", ["url": "about:blank"], session: false)
        guard let targetId = target["targetId"] as? String else { throw Failure("no target: \(target)") }
        let attached = try call("Target.attachToTarget", ["targetId": targetId, "flatten": true], session: false)
        guard let id = attached["sessionId"] as? String else { throw Failure("not attached: \(attached)") }
        sessionId = id
        _ = try call("Page.enable")
        _ = try call("Emulation.setFocusEmulationEnabled", ["enabled": true])
    }

    deinit {
        _ = try? call("Browser.close", session: false)
        close(commands)
        close(answers)
        var status: Int32 = 0
        for _ in 0..<50 {
            if waitpid(pid, &status, WNOHANG) == pid { break }
            usleep(100_000)
        }
        kill(pid, SIGKILL)
        _ = waitpid(pid, &status, WNOHANG)
        try? FileManager.default.removeItem(atPath: profile)
    }

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
        init(_ description: String) { self.description = "browser: " + description }
    }

    // MARK: What tests do

    /// Loads `url` and waits for its load event.
    public func open(_ url: String) throws {
        events.removeAll()
        let result = try call("Page.navigate", ["url": url])
        if let error = result["errorText"] as? String { throw Failure("cannot open \(url): \(error)") }
        try waitForLoad()
    }

    /// Runs `expression` in the page; its value as JSON gives it (strings, numbers, arrays, objects).
    @discardableResult
    public func evaluate(_ expression: String) throws -> Any? {
        let result = try call("Runtime.evaluate", ["expression": expression, "returnByValue": true, "awaitPromise": true])
        if let exception = result["exceptionDetails"] { throw Failure("script failed: \(exception)") }
        return (result["result"] as? [String: Any])?["value"]
    }

    /// Runs `expression` (a click, a form submit) and waits for the page it leads to.
    public func evaluateAndWait(_ expression: String) throws {
        events.removeAll()
        try evaluate(expression)
        try waitForLoad()
    }

    /// Types `text` into the focused element, key by key.
    public func type(_ text: String) throws {
        for character in text {
            _ = try call("Input.dispatchKeyEvent", ["type": "keyDown", "text": String(character)])
            _ = try call("Input.dispatchKeyEvent", ["type": "keyUp"])
        }
    }

    /// Presses a key the way a keyboard does (`Tab`, `Enter`), with Shift when asked.
    public func press(_ key: String, shift: Bool = false) throws {
        let codes = ["Tab": 9, "Enter": 13, "Escape": 27]
        var event: [String: Any] = ["key": key, "code": key, "windowsVirtualKeyCode": codes[key] ?? 0, "modifiers": shift ? 8 : 0]
        if key == "Enter" { event["text"] = "\r" }
        event["type"] = key == "Enter" ? "keyDown" : "rawKeyDown"
        _ = try call("Input.dispatchKeyEvent", event)
        event["type"] = "keyUp"
        event["text"] = nil
        _ = try call("Input.dispatchKeyEvent", event)
    }

    /// A PNG of the viewport.
    public func screenshot() throws -> [UInt8] {
        let result = try call("Page.captureScreenshot", ["format": "png"])
        guard let text = result["data"] as? String, let data = Data(base64Encoded: text) else { throw Failure("no screenshot") }
        return Array(data)
    }

    /// The page's current URL.
    public func url() throws -> String { try evaluate("location.href") as? String ?? "" }

    /// The cookies the browser holds for `url`, with their attributes.
    public func cookies(for url: String) throws -> [[String: Any]] {
        try call("Network.getCookies", ["urls": [url]])["cookies"] as? [[String: Any]] ?? []
    }

    /// Drops every cookie (as if the browser restarted).
    public func clearCookies() throws {
        _ = try call("Network.clearBrowserCookies")
    }

    // MARK: The protocol

    /// Sends one command and returns its result, keeping the events that arrive meanwhile.
    public func call(_ method: String, _ params: [String: Any] = [:], session: Bool = true) throws -> [String: Any] {
        nextId += 1
        let id = nextId
        var message: [String: Any] = ["id": id, "method": method, "params": params]
        if session { message["sessionId"] = sessionId }
        var bytes = Array(try JSONSerialization.data(withJSONObject: message))
        bytes.append(0)
        var written = 0
        while written < bytes.count {
            let n = bytes[written...].withUnsafeBytes { write(commands, $0.baseAddress, $0.count) }
            guard n > 0 else { throw Failure("the browser stopped reading (\(method))") }
            written += n
        }
        while true {
            let answer = try receive(method)
            if answer["id"] as? Int == id {
                if let error = answer["error"] { throw Failure("\(method): \(error)") }
                return answer["result"] as? [String: Any] ?? [:]
            }
            if answer["method"] != nil { events.append(answer) }
        }
    }

    private func waitForLoad() throws {
        while true {
            if events.contains(where: { $0["method"] as? String == "Page.loadEventFired" && $0["sessionId"] as? String == sessionId }) {
                events.removeAll()
                return
            }
            let message = try receive("Page.loadEventFired")
            if message["method"] != nil { events.append(message) }
        }
    }

    private func receive(_ waitingFor: String) throws -> [String: Any] {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            if let end = buffer.firstIndex(of: 0) {
                let message = Array(buffer[..<end])
                buffer.removeSubrange(...end)
                guard let object = try JSONSerialization.jsonObject(with: Data(message)) as? [String: Any] else { continue }
                return object
            }
            let left = deadline.timeIntervalSinceNow
            guard left > 0 else { throw Failure("no answer to \(waitingFor) within \(Int(timeout)) s") }
            var poller = pollfd(fd: answers, events: Int16(POLLIN), revents: 0)
            let ready = poll(&poller, 1, Int32(min(left, 1) * 1000))
            if ready < 0 && errno == EINTR { continue }
            guard ready >= 0 else { throw Failure("poll: \(String(cString: strerror(errno)))") }
            if ready == 0 { continue }
            var chunk = [UInt8](repeating: 0, count: 1 << 16)
            let n = chunk.withUnsafeMutableBytes { read(answers, $0.baseAddress, $0.count) }
            guard n > 0 else { throw Failure("the browser closed the pipe while \(waitingFor) was awaited") }
            buffer.append(contentsOf: chunk[..<n])
        }
    }
}
