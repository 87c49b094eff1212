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
