import OrderModel
import Testing

@Suite struct CarrierTests {
    @Test(arguments: [("FedEx", "FedEx"), ("FEDEX", "FedEx"), (" fedex ", "FedEx"), ("Federal Express", "FedEx"),
                      ("ups", "UPS"), ("United Parcel Service", "UPS"), ("DHL Express", "DHL"), ("dhl", "DHL"),
                      ("U.S.P.S.", "USPS"), ("usps", "USPS"), ("PostNL", "PostNL"), ("  La Poste ", "La Poste")])
    func carrierNamesAreNormalized(raw: String, name: String) {
        #expect(Carrier.normalizedName(raw) == name)
    }

    @Test func emptyNamesAndNumbersAreAbsent() {
        #expect(Carrier.normalizedName("  ") == nil)
        #expect(Carrier.normalizedTrackingNumber("") == nil)
    }

    @Test func trackingNumbersAreTrimmedAndUpperCased() {
        #expect(Carrier.normalizedTrackingNumber(" 1z999aa10123456784\t") == "1Z999AA10123456784")
        #expect(Carrier.normalizedTrackingNumber("9400 1000") == "9400 1000") // inner spaces are significant
    }

    @Test func aggregatorTaxonomyMapsAsDesignSays() {
        let cases: [(String, OrderStatus?)] = [
            ("InfoReceived", .shipped), ("pre_transit", .shipped), ("InTransit", .inTransit), ("in_transit", .inTransit),
            ("OutForDelivery", .outForDelivery), ("AvailableForPickup", .availableForPickup), ("AttemptFail", .failedAttempt),
            ("failure", .failedAttempt), ("Exception", .exception), ("return_to_sender", .returned), ("Delivered", .delivered),
            ("Pending", nil), ("Expired", nil), ("unknown", nil),
        ]
        for (code, status) in cases {
            let tag = TrackingTag(aggregatorCode: code)
            #expect(tag != nil, "\(code) is a known tag")
            #expect(tag?.orderStatus == status, "\(code)")
        }
        #expect(TrackingTag(aggregatorCode: "Teleported") == nil) // unmapped: a reject, never a guess
    }

    @Test(arguments: TrackingTag.allCases)
    func everyMappedStatusIsReachableFromShipped(tag: TrackingTag) {
        guard let status = tag.orderStatus, status != .shipped else { return }
        #expect(OrderStatus.shipped.transition(to: status) == .allowed)
    }
}

@Suite("event time formats")
struct EventTimeFormatTests {
    func parse(_ format: String, zone: String? = nil, _ text: String) -> String? {
        guard let f = EventTimeFormat(format: format, zone: zone) else { return "bad format" }
        switch EventTimeParser(f).parse(Array(text.utf8)[...]) {
        case .success(let t): return t.description
        case .failure(.missingZone): return "missing zone"
        case .failure: return nil
        }
    }

    @Test func rfc3339WithAnOffsetIsTakenAsWrittenAndWithoutOneNeedsAZone() {
        #expect(parse("rfc3339", "2026-11-03T08:05:00-06:00") == "2026-11-03T14:05:00.000Z")
        #expect(parse("rfc3339", "2026-11-03T08:05:00") == "missing zone")
        #expect(parse("rfc3339", zone: "America/New_York", "2026-07-01T12:00:00") == "2026-07-01T16:00:00.000Z")
        #expect(parse("rfc3339", zone: "America/New_York", "2026-12-01 12:00:00") == "2026-12-01T17:00:00.000Z")
        #expect(parse("rfc3339", zone: "America/New_York", "2026-12-01T12:00:00Z") == "2026-12-01T12:00:00.000Z")
        #expect(parse("rfc3339", "yesterday") == nil)
    }

    @Test func localPatternsFollowTheZonesDaylightSavingRules() {
        #expect(parse("YYYYMMDD HHmmss", zone: "America/New_York", "20261103 090500") == "2026-11-03T14:05:00.000Z")
        #expect(parse("YYYYMMDD HHmmss", zone: "America/New_York", "20260703 090500") == "2026-07-03T13:05:00.000Z")
        #expect(parse("M/D/YYYY h:mm a", zone: "America/Chicago", "11/3/2026 8:05 PM") == "2026-11-04T02:05:00.000Z")
        #expect(parse("M/D/YYYY h:mm a", zone: "America/Chicago", "11/3/2026 12:05 am") == "2026-11-03T06:05:00.000Z")
        #expect(parse("DD.MM.YYYY HH:mm:ss.SSS", zone: "Europe/Berlin", "03.11.2026 09:05:00.25") == "2026-11-03T08:05:00.250Z")
        // The gap when clocks spring forward does not exist; the hour after it is used.
        #expect(parse("YYYY-MM-DD HH:mm", zone: "America/New_York", "2026-03-08 02:30") == "2026-03-08T07:30:00.000Z")
        #expect(parse("M/D/YYYY h:mm a", zone: "America/Chicago", "13/3/2026 8:05 PM") == nil)
        #expect(parse("M/D/YYYY h:mm a", zone: "America/Chicago", "11/3/2026 8:05") == nil)
        #expect(parse("YYYYMMDD HHmmss", zone: "America/New_York", "20261103 0905") == nil)
    }

    @Test func epochSecondsAndMilliseconds() {
        #expect(parse("epoch_seconds", "1794283500") == "2026-11-10T04:05:00.000Z")
        #expect(parse("epoch_millis", "1794283500123") == "2026-11-10T04:05:00.123Z")
        #expect(parse("epoch_seconds", "1794283500.5") == "2026-11-10T04:05:00.500Z")
        #expect(parse("epoch_seconds", "17942x") == nil)
        // Found by the fuzzer: 16 digits of seconds overflowed the microseconds and trapped.
        #expect(parse("epoch_seconds", "1722229428350113") == nil)
        #expect(parse("epoch_seconds", "253402300799") == "9999-12-31T23:59:59.000Z")
        #expect(parse("epoch_millis", "253402300799999") == "9999-12-31T23:59:59.999Z")
        #expect(parse("epoch_millis", "9999999999999999") == nil)
        #expect(parse("epoch_seconds", "") == nil)
    }

    @Test func unusableFormatsAndZonesAreRefused() {
        #expect(EventTimeFormat(format: "YYYY-MM-DD", zone: "UTC") == nil)          // no time of day
        #expect(EventTimeFormat(format: "YYYY-MM-DD HH:mm", zone: nil) == nil)      // a pattern needs a zone
        #expect(EventTimeFormat(format: "rfc3339", zone: "Mars/Olympus") == nil)
        #expect(EventTimeFormat(format: "YYYY-MM-DD hh:mm", zone: "UTC") == nil)    // 12-hour clock without AM/PM
    }

    @Test func eventMeaningsFromTagsStatusesAndNone() {
        #expect(EventMeaning("InTransit") == .status(.inTransit))
        #expect(EventMeaning("return_to_sender") == .status(.returned))
        #expect(EventMeaning("out_for_delivery") == .status(.outForDelivery))
        #expect(EventMeaning("Pending") == .noChange)
        #expect(EventMeaning("none") == .noChange)
        #expect(EventMeaning("Teleported") == nil)
    }
}
