/// Validation rules shared by the API and the pipelines, so both accept exactly the same orders.
public enum OrderRules {
    /// Longest accepted identifier-like text (customer, product, external ref, tracking).
    public static let maxIdentifierLength = 200
    public static let maxQuantity = 1_000_000

    /// ISO 4217 codes in use; an unknown code is a reject, not a typo silently stored.
    public static let currencies: Set<String> = Set("""
        AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN BWP BYN BZD
        CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD
        GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT
        LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR
        NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP
        STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD UYU UZS VES VND VUV WST XAF XCD XCG
        XOF XPF YER ZAR ZMW ZWG
        """.split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init))

    /// Checks an identifier-like field: present, not blank, not too long, no control characters.
    public static func checkIdentifier(_ value: String, field: String) -> FieldProblem? {
        if value.isEmpty || value.allSatisfy({ $0 == " " }) { return FieldProblem(field: field, reason: .missingField, message: "\(field) is empty") }
        return checkIdentifier(utf8: Array(value.utf8)[...], field: field)
    }

    /// The same rule on a present value's UTF-8 bytes (the feed readers' hot path): not too
    /// long, no control characters.
    public static func checkIdentifier(utf8 value: ArraySlice<UInt8>, field: String) -> FieldProblem? {
        if value.count > maxIdentifierLength {
            return FieldProblem(field: field, reason: .fieldTooLong, message: "\(field) is \(value.count) bytes, at most \(maxIdentifierLength) allowed")
        }
        if value.contains(where: { $0 < 0x20 || $0 == 0x7F }) {
            return FieldProblem(field: field, reason: .invalidValue(field), message: "\(field) contains a control character")
        }
        return nil
    }

    public static func checkQuantity(_ quantity: Int) -> FieldProblem? {
        guard (1...maxQuantity).contains(quantity) else {
            return FieldProblem(field: "quantity", reason: .invalidValue("quantity"), message: "quantity must be an integer from 1 to \(maxQuantity), got \(quantity)")
        }
        return nil
    }

    public static func checkUnitPrice(_ price: Money) -> FieldProblem? {
        price.isNegative ? FieldProblem(field: "unit_price", reason: .invalidValue("unit_price"), message: "unit_price must not be negative, got \(price)") : nil
    }

    public static func checkCurrency(_ code: String) -> FieldProblem? {
        currencies.contains(code) ? nil : FieldProblem(field: "currency", reason: .invalidValue("currency"), message: "currency \"\(code)\" is not an ISO 4217 code")
    }
}

/// A field that failed validation: which one, the reject reason and a sentence for the user.
public struct FieldProblem: Hashable, Sendable, Error, CustomStringConvertible {
    public var field: String
    public var reason: RejectReason
    public var message: String

    public init(field: String, reason: RejectReason, message: String) {
        self.field = field
        self.reason = reason
        self.message = message
    }

    public var description: String { message }
}
