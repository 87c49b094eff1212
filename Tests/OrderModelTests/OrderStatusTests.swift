import OrderModel
import Testing

@Suite struct OrderStatusTests {
    @Test func designRules() {
        #expect(OrderStatus.processing.transition(to: .delivered) == .allowed) // skipping steps is fine
        #expect(OrderStatus.processing.transition(to: .returned) == .illegal(from: .processing, to: .returned))
        #expect(OrderStatus.shipped.transition(to: .returned) == .allowed)
        #expect(OrderStatus.inTransit.transition(to: .exception) == .allowed)
        #expect(OrderStatus.inTransit.transition(to: .shipped) == .illegal(from: .inTransit, to: .shipped))
        #expect(OrderStatus.inTransit.transition(to: .cancelled) == .illegal(from: .inTransit, to: .cancelled))
        #expect(OrderStatus.delivered.transition(to: .returned) == .allowed)
        #expect(OrderStatus.delivered.transition(to: .inTransit) == .illegal(from: .delivered, to: .inTransit))
        #expect(OrderStatus.delivered.transition(to: .delivered) == .unchanged)
    }

    @Test(arguments: OrderStatus.allCases)
    func terminalStatusesGoNowhere(status: OrderStatus) {
        #expect(status.isTerminal == status.allowedNext.isEmpty)
        #expect(!status.allowedNext.contains(status))
        #expect(!status.allowedNext.contains(.processing))
    }

    @Test func everyActiveStateReachesEveryOther() {
        for a in OrderStatus.active {
            for b in OrderStatus.active where a != b { #expect(a.transition(to: b) == .allowed) }
            #expect(a.transition(to: .delivered) == .allowed)
            #expect(a.transition(to: .returned) == .allowed)
        }
    }

    @Test func transitionListMatchesRules() {
        let pairs = OrderStatus.allowedTransitions
        #expect(Set(pairs.map { "\($0.from.rawValue)>\($0.to.rawValue)" }).count == pairs.count)
        #expect(pairs.count == OrderStatus.allCases.reduce(0) { $0 + $1.allowedNext.count })
    }
}
