extension OrderRules {
    /// ISO 4217 codes (of `currencies`) whose minor unit is not the usual 2 decimals.
    static let minorUnitExceptions: [String: Int] = {
        var table: [String: Int] = [:]
        for code in "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX VND VUV XAF XOF XPF".split(separator: " ") { table[String(code)] = 0 }
        for code in "BHD IQD JOD KWD LYD OMR TND".split(separator: " ") { table[String(code)] = 3 }
        return table
    }()

    /// The decimals of a currency's minor unit by ISO 4217 (JPY 0, EUR 2, BHD 3); 2, what most
    /// currencies have, for an unknown or missing code.
    public static func minorUnits(of currency: some StringProtocol) -> Int {
        minorUnitExceptions[String(currency)] ?? 2
    }
}
