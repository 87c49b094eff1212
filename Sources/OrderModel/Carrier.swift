/// Carrier names and tracking numbers as the tracking pipeline compares them.
///
/// Feeds spell carriers every way (`FedEx`, `FEDEX`, `fedex`, `Federal Express`); orders store
/// the canonical name so the `(tracking_company, tracking_number)` lookup finds one shipment.
public enum Carrier {
    /// Known carriers: canonical name and the spellings that mean it (compared case-insensitively,
    /// ignoring spaces, dots, dashes and underscores).
    static let known: [(name: String, aliases: [String])] = [
        ("FedEx", ["fedex", "federalexpress", "fedexground", "fedexexpress", "fdx"]),
        ("UPS", ["ups", "unitedparcelservice"]),
        ("DHL", ["dhl", "dhlexpress", "dhlparcel", "dhlecommerce"]),
        ("USPS", ["usps", "unitedstatespostalservice", "uspostalservice"]),
    ]

    static let aliasToName: [String: String] = {
        var map: [String: String] = [:]
        for carrier in known { for alias in carrier.aliases { map[alias] = carrier.name } }
        return map
    }()

    /// The canonical name: a known carrier's own spelling, else the trimmed input as given.
    /// `nil` for an empty name.
    public static func normalizedName(_ raw: String) -> String? {
        let trimmed = raw.trimmingSpaces()
        guard !trimmed.isEmpty else { return nil }
        let key = String(trimmed.lowercased().unicodeScalars.filter { !" ._-".unicodeScalars.contains($0) })
        return aliasToName[key] ?? trimmed
    }

    /// A tracking number as compared: trimmed and upper-cased (`1z999aa1` → `1Z999AA1`).
    public static func normalizedTrackingNumber(_ raw: String) -> String? {
        let trimmed = raw.trimmingSpaces()
        return trimmed.isEmpty ? nil : trimmed.uppercased()
    }
}

/// A normalized shipment status from a tracking aggregator (AfterShip's tags, EasyPost's
/// statuses), the reference taxonomy that carriers' raw codes are mapped onto.
public enum TrackingTag: String, CaseIterable, Sendable {
    case pending, infoReceived, inTransit, outForDelivery, availableForPickup, attemptFail, exception
    case returnedToSender, delivered, expired

    /// AfterShip tag or EasyPost status (`InTransit`, `in_transit`, `return_to_sender`, …).
    public init?(aggregatorCode raw: String) {
        switch raw.trimmingSpaces().lowercased().filter({ $0 != "_" && $0 != " " && $0 != "-" }) {
        // EasyPost's `cancelled`: the tracker (the label), not the order, was cancelled.
        case "pending", "unknown", "cancelled", "canceled": self = .pending
        case "inforeceived", "pretransit": self = .infoReceived
        case "intransit": self = .inTransit
        case "outfordelivery": self = .outForDelivery
        case "availableforpickup": self = .availableForPickup
        case "attemptfail", "failure", "failedattempt": self = .attemptFail
        case "exception", "error": self = .exception
        case "returntosender", "returnedtosender", "returned": self = .returnedToSender
        case "delivered": self = .delivered
        case "expired": self = .expired
        default: return nil
        }
    }

    /// The order status this tag means; `nil` for tags that change nothing (docs/tracking.md: Pending,
    /// Expired and unknown are counted, not rejected).
    public var orderStatus: OrderStatus? {
        switch self {
        case .pending, .expired: return nil
        case .infoReceived: return .shipped
        case .inTransit: return .inTransit
        case .outForDelivery: return .outForDelivery
        case .availableForPickup: return .availableForPickup
        case .attemptFail: return .failedAttempt
        case .exception: return .exception
        case .returnedToSender: return .returned
        case .delivered: return .delivered
        }
    }
}

extension String {
    /// Without leading and trailing spaces and tabs.
    func trimmingSpaces() -> String {
        var s = Substring(self)
        while let c = s.first, c == " " || c == "\t" { s.removeFirst() }
        while let c = s.last, c == " " || c == "\t" { s.removeLast() }
        return String(s)
    }
}

/// What a tracking event does to its order: move it to a status, or nothing (an informational
/// scan such as AfterShip's Pending or Expired, counted but not rejected).
public enum EventMeaning: Sendable, Equatable, CustomStringConvertible {
    case status(OrderStatus)
    case noChange

    /// Reads a pipeline's meaning of a raw code: an AfterShip tag or EasyPost status
    /// (`InTransit`, `return_to_sender`), an order status (`out_for_delivery`), or `none`.
    public init?(_ text: String) {
        let trimmed = text.trimmingSpaces()
        if trimmed.lowercased() == "none" || trimmed.lowercased() == "ignore" {
            self = .noChange
        } else if let status = OrderStatus(rawValue: trimmed) {
            self = .status(status)
        } else if let tag = TrackingTag(aggregatorCode: trimmed) {
            self = tag.orderStatus.map(EventMeaning.status) ?? .noChange
        } else {
            return nil
        }
    }

    public var description: String {
        switch self {
        case .status(let s): s.rawValue
        case .noChange: "none"
        }
    }
}

extension OrderStatus {
    /// Position in a shipment's life, used to order events of the same instant deterministically
    /// (the further-along status wins), so feeds applied in any order end in the same state.
    public var progressRank: Int {
        switch self {
        case .processing: 0
        case .shipped: 1
        case .inTransit: 2
        case .exception: 3
        case .failedAttempt: 4
        case .availableForPickup: 5
        case .outForDelivery: 6
        case .delivered: 7
        case .returned: 8
        case .cancelled: 9
        }
    }
}
