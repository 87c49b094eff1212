import OrderModel
import Testing

@Suite struct MoneyTests {
    @Test(arguments: [("0", "0"), ("19.99", "19.99"), ("19.90", "19.90"), ("-4.5", "-4.5"), ("0.000001", "0.000001"),
                      ("123456789012345678", "123456789012345678"), ("007.50", "7.50")])
    func parsesExactly(input: String, printed: String) throws {
        let m = try #require(Money(input))
        #expect(m.description == printed)
    }

    @Test(arguments: ["", "-", ".", "1.", ".5", "1e3", "+1", " 1", "1 ", "1.2.3", "abc", "0.0000001", "1234567890123456789", "NaN", "1,5"])
    func rejects(input: String) {
        #expect(Money(input) == nil)
    }

    @Test func arithmeticIsExact() throws {
        let a = try #require(Money("0.1")), b = try #require(Money("0.2"))
        #expect(a.adding(b) == Money("0.3"))
        #expect(Money("19.99")?.multiplied(by: 3)?.description == "59.97")
        #expect(Money("1.5") == Money("1.50"))
        #expect(Money("1.5")!.hashValue == Money("1.50")!.hashValue)
        #expect(Money("2")! > Money("1.99")!)
        #expect(Money("900000000000000000")!.multiplied(by: 100) == nil)
    }

    /// ISO 4217 minor units (the xlsx export's money formats): every exception is a known code.
    @Test func currencyMinorUnitsFollowISO4217() {
        #expect(OrderRules.minorUnits(of: "JPY") == 0 && OrderRules.minorUnits(of: "KRW") == 0)
        #expect(["BHD", "KWD", "JOD", "OMR", "TND", "IQD", "LYD"].allSatisfy { OrderRules.minorUnits(of: $0) == 3 })
        #expect(OrderRules.minorUnits(of: "EUR") == 2 && OrderRules.minorUnits(of: "USD") == 2 && OrderRules.minorUnits(of: "") == 2)
        #expect(OrderRules.currencies.filter { OrderRules.minorUnits(of: $0) != 2 }.count == 23)
    }
}
