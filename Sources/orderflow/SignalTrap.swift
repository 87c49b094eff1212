import Foundation

/// Turns signals into a callback on a dispatch queue instead of killing the process.
final class SignalTrap {
    private let signals: [Int32]
    private var sources: [any DispatchSourceSignal] = []

    init(_ signals: [Int32], handler: @escaping @Sendable (Int32) -> Void) {
        self.signals = signals
        for sig in signals {
            signal(sig, SIG_IGN) // the dispatch source sees it; the default action must not run
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler { handler(sig) }
            source.resume()
            sources.append(source)
        }
    }

    /// Back to the default behaviour (a second Ctrl-C after the run ends kills as usual).
    func restore() {
        sources.forEach { $0.cancel() }
        for sig in signals { signal(sig, SIG_DFL) }
    }
}
