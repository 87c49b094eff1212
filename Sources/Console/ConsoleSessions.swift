import Foundation
import Synchronization

/// The console's sign-ins: random ids kept in memory, each ending after a fixed lifetime or
/// after a spell without requests, whichever comes first. A restart signs everyone out, which
/// is what a read-only console can afford.
public final class ConsoleSessions: Sendable {
    struct Session {
        var started: ContinuousClock.Instant
        var lastSeen: ContinuousClock.Instant
    }

    /// How long a session lasts at most.
    public let lifetime: Duration
    /// How long a session lasts without a request.
    public let idle: Duration
    /// Sessions beyond this drop the oldest (a script that signs in in a loop cannot grow memory).
    static let capacity = 10_000
    private let table = Mutex<[String: Session]>([:])
    /// The clock sessions age by (tests move it instead of sleeping).
    private let now: @Sendable () -> ContinuousClock.Instant

    public init(lifetime: Duration = .seconds(8 * 3600), idle: Duration = .seconds(3600),
                now: @escaping @Sendable () -> ContinuousClock.Instant = { ContinuousClock.now }) {
        self.lifetime = lifetime
        self.idle = idle
        self.now = now
    }

    /// A new session's id: 32 random bytes (SystemRandomNumberGenerator is the OS's CSPRNG).
    func open() -> String {
        var generator = SystemRandomNumberGenerator()
        let id = (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
        let now = now()
        table.withLock { sessions in
            sessions = sessions.filter { isLive($0.value, at: now) }
            if sessions.count >= Self.capacity, let oldest = sessions.min(by: { $0.value.started < $1.value.started })?.key {
                sessions[oldest] = nil
            }
            sessions[id] = Session(started: now, lastSeen: now)
        }
        return id
    }

    /// Whether `id` is a live session; a live one counts this as a request, an expired one is dropped.
    func check(_ id: String) -> Bool {
        let now = now()
        return table.withLock { sessions in
            guard let session = sessions[id] else { return false }
            guard isLive(session, at: now) else {
                sessions[id] = nil
                return false
            }
            sessions[id]?.lastSeen = now
            return true
        }
    }

    /// Ends `id` (sign-out).
    func close(_ id: String) {
        _ = table.withLock { $0.removeValue(forKey: id) }
    }

    private func isLive(_ session: Session, at now: ContinuousClock.Instant) -> Bool {
        now - session.started < lifetime && now - session.lastSeen < idle
    }
}
