import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import OrderAPI
import OrderModel
import OrderStore
import PostgresClient
import OrderflowTestSupport
import Testing

/// Shipments through the API (issue 12): POST adds one (a split shipment is several), the
/// order's tracking fields copy the most recent, PATCH /shipping edits only that one, and the
/// history merges order and carrier events. Every check reads what the database holds too.
@Suite struct ShipmentAPITests {
    @Test func aSplitShipmentIsTwoPostsAndTheOrderShowsTheSecond() async throws {
        try await APIHarness.run { client, api in
            let id = try #require(try await client.createSeedOrder().object["id"] as? String)
            let first = try await client.send(.post, "/orders/\(id)/shipments", json: """
                {"carrier":"fedex","trackingNumber":" 1z999aa10123456784 ","shippedAt":"2024-09-17T05:00:00+02:00",\
                "lines":[{"lineNo":1,"quantity":2}]}
                """)
            #expect(first.status == .created, "\(first.text)")
            let firstID = try #require(first.object["id"] as? Int)
            // Normalized carrier and number, the clock's second reading, every member present.
            #expect(first.text == """
                {"id":\(firstID),"carrier":"FedEx","trackingNumber":"1Z999AA10123456784","status":null,"statusEventAt":null,\
                "shippedAt":"2024-09-17T03:00:00.000Z","deliveredAt":null,"attempts":0,"exceptionCode":null,"exceptionText":null,\
                "lines":[{"lineNo":1,"quantity":2}],"createdAt":"2024-09-17T03:21:38.893Z","updatedAt":"2024-09-17T03:21:38.893Z"}
                """)
            #expect(first.headers[.contentType] == "application/json")
            let afterFirst = try await client.send(.get, "/orders/\(id)")
            #expect(afterFirst.object["status"] as? String == "shipped")
            #expect(first.headers[.eTag] == afterFirst.headers[.eTag])

            let second = try await client.send(.post, "/orders/\(id)/shipments",
                                               json: #"{"carrier":"UPS","trackingNumber":"1ZSECOND","lines":[{"lineNo":2,"quantity":1}]}"#)
            #expect(second.status == .created, "\(second.text)")
            let secondID = try #require(second.object["id"] as? Int)
            #expect(secondID > firstID)
            #expect(second.object["shippedAt"] is NSNull)

            let order = try await client.send(.get, "/orders/\(id)")
            #expect(order.object["trackingCompany"] as? String == "UPS")
            #expect(order.object["trackingNumber"] as? String == "1ZSECOND")
            #expect(order.object["status"] as? String == "shipped")
            #expect(order.text.hasSuffix(#","shipments":[\#(first.text),\#(second.text)]}"#))

            let listed = try await client.send(.get, "/orders/\(id)/shipments")
            #expect(listed.status == .ok)
            #expect(listed.text == #"{"shipments":[\#(first.text),\#(second.text)]}"#)
            #expect(listed.headers[.eTag] == order.headers[.eTag])

            let stored = try await api.rows("SELECT carrier, tracking_number, source, shipped_at::text FROM shipments ORDER BY id")
            #expect(stored == [["FedEx", "1Z999AA10123456784", "api", "2024-09-17 03:00:00+00"], ["UPS", "1ZSECOND", "api", nil]])
            #expect(try await api.rows("SELECT line_no::text, quantity::text FROM shipment_lines ORDER BY shipment_id")
                    == [["1", "2"], ["2", "1"]])
            #expect(try await api.rows("SELECT tracking_company, tracking_number FROM orders") == [["UPS", "1ZSECOND"]])
            // One status move (the first shipment's), at the hand-over time it gave.
            let events = try await api.rows("""
                SELECT kind, from_status, to_status, tracking_company, tracking_number, event_at::text FROM order_events ORDER BY id
                """)
            #expect(events == [
                ["created", nil, "processing", nil, nil, "2024-09-17 03:21:38.892+00"],
                ["shipment_added", nil, nil, "FedEx", "1Z999AA10123456784", "2024-09-17 03:00:00+00"],
                ["status_changed", "processing", "shipped", nil, nil, "2024-09-17 03:00:00+00"],
                ["shipment_added", nil, nil, "UPS", "1ZSECOND", "2024-09-17 03:21:38.894+00"],
            ])
        }
    }

    @Test func theSameCarrierAndNumberTwiceIs409AndWritesNothing() async throws {
        try await APIHarness.run { client, api in
            let id = try #require(try await client.createSeedOrder().object["id"] as? String)
            let first = try await client.send(.post, "/orders/\(id)/shipments", json: #"{"carrier":"UPS","trackingNumber":"1z9"}"#)
            #expect(first.status == .created)
            // Equal once normalized: another spelling of the carrier, the number in lower case.
            let again = try await client.send(.post, "/orders/\(id)/shipments",
                                              json: #"{"carrier":"United Parcel Service","trackingNumber":" 1Z9"}"#)
            #expect(again.status == .conflict)
            #expect(again.headers[.contentType] == "application/problem+json")
            #expect(again.object["type"] as? String == "urn:orderflow:problem:duplicate-shipment")
            #expect(try await api.rows("SELECT count(*) FROM shipments") == [["1"]])
            #expect(try await api.rows("SELECT count(*) FROM order_events WHERE kind = 'shipment_added'") == [["1"]])
        }
    }

    @Test func anUnknownOrderIs404OnEveryShipmentPath() async throws {
        try await APIHarness.run { client, api in
            let nobody = UUID().uuidString.lowercased()
            let post = try await client.send(.post, "/orders/\(nobody)/shipments", json: #"{"carrier":"UPS","trackingNumber":"1Z1"}"#)
            #expect(post.status == .notFound)
            #expect(post.headers[.contentType] == "application/problem+json")
            #expect(try await client.send(.get, "/orders/\(nobody)/shipments").status == .notFound)
            #expect(try await client.send(.get, "/orders/\(nobody)/history").status == .notFound)
            #expect(try await client.send(.get, "/orders/not-a-uuid/history").status == .badRequest)
            #expect(try await api.rows("SELECT count(*) FROM shipments") == [["0"]])

            let put = try await client.send(.put, "/orders/\(nobody)/shipments", json: "{}")
            #expect(put.status == .methodNotAllowed)
            #expect(put.headers[.allow] == "GET, HEAD, POST")
        }
    }

    @Test func linesThatDoNotFitTheOrderAre422WithEveryOffendingLine() async throws {
        try await APIHarness.run { client, api in
            let id = try #require(try await client.createSeedOrder().object["id"] as? String)
            // The seed has line 1 (quantity 2) and line 2 (quantity 1).
            let response = try await client.send(.post, "/orders/\(id)/shipments", json: """
                {"carrier":"UPS","trackingNumber":"1Z1","lines":[{"lineNo":3,"quantity":1},{"lineNo":2,"quantity":2},\
                {"lineNo":1,"quantity":2},{"lineNo":1,"quantity":1}]}
                """)
            #expect(response.status == .unprocessableContent)
            #expect(response.headers[.contentType] == "application/problem+json")
            #expect(response.object["type"] as? String == "urn:orderflow:problem:invalid-shipment-lines")
            let fields = (response.object["errors"] as? [[String: String]])?.compactMap { $0["field"] }
            #expect(fields == ["lines[0].lineNo", "lines[1].quantity", "lines[3].lineNo"])
            #expect(try await api.rows("SELECT count(*) FROM shipments") == [["0"]])
            #expect(try await api.rows("SELECT status FROM orders") == [["processing"]])

            // Malformed lines are the request's fault (400), before the order is looked at.
            let malformed = try await client.send(.post, "/orders/\(id)/shipments",
                                                  json: #"{"carrier":"UPS","trackingNumber":"1Z1","lines":[{"lineNo":0,"quantity":1}]}"#)
            #expect(malformed.status == .badRequest)
            let missing = try await client.send(.post, "/orders/\(id)/shipments", json: #"{"carrier":" "}"#)
            #expect((missing.object["errors"] as? [[String: String]])?.compactMap { $0["field"] } == ["carrier", "trackingNumber"])
        }
    }

    @Test func aCancelledOrderTakesNoShipmentAndIfMatchIsHonoured() async throws {
        try await APIHarness.run { client, api in
            let created = try await client.createSeedOrder()
            let id = try #require(created.object["id"] as? String)
            let etag = try #require(created.headers[.eTag])
            let added = try await client.send(.post, "/orders/\(id)/shipments", json: #"{"carrier":"UPS","trackingNumber":"1Z1"}"#,
                                              headers: [.ifMatch: etag])
            #expect(added.status == .created)
            let stale = try await client.send(.post, "/orders/\(id)/shipments", json: #"{"carrier":"UPS","trackingNumber":"1Z2"}"#,
                                              headers: [.ifMatch: etag])
            #expect(stale.status == .preconditionFailed)

            #expect(try await client.send(.patch, "/orders/\(id)/status", json: #"{"status":"cancelled"}"#).status == .ok)
            let refused = try await client.send(.post, "/orders/\(id)/shipments", json: #"{"carrier":"UPS","trackingNumber":"1Z3"}"#)
            #expect(refused.status == .conflict)
            #expect(refused.object["type"] as? String == "urn:orderflow:problem:illegal-transition")
            #expect(refused.object["from"] as? String == "cancelled")
            #expect(try await api.rows("SELECT tracking_number FROM shipments") == [["1Z1"]])

            // Nor through PATCH /shipping, which would otherwise create the order's first one.
            let other = try #require(try await client.createSeedOrder().object["id"] as? String)
            #expect(try await client.send(.patch, "/orders/\(other)/status", json: #"{"status":"cancelled"}"#).status == .ok)
            let patched = try await client.send(.patch, "/orders/\(other)/shipping", json: #"{"trackingCompany":"UPS","trackingNumber":"1Z4"}"#)
            #expect(patched.status == .conflict)
            #expect(patched.object["from"] as? String == "cancelled")
            #expect(try await api.rows("SELECT count(*) FROM shipments") == [["1"]])
        }
    }

    @Test func historyMergesOrderAndCarrierEventsInTimeOrder() async throws {
        try await APIHarness.run { client, api in
            let id = try #require(try await client.createSeedOrder().object["id"] as? String)
            let shipment = try await client.send(.post, "/orders/\(id)/shipments",
                                                 json: #"{"carrier":"UPS","trackingNumber":"1Z1","shippedAt":"2024-09-17T04:00:00Z"}"#)
            let shipmentID = try #require(shipment.object["id"] as? Int)
            // Carrier events as a tracking run writes them: one before the hand-over, one at the
            // same instant as the order's events (they come first), two at one instant (by code).
            for (code, at, status) in [("DL", "2024-09-18T10:00:00Z", "delivered"), ("AR", "2024-09-17T05:00:00Z", "in_transit"),
                                       ("PU", "2024-09-17T04:00:00Z", "in_transit"), ("LC", "2024-09-17T03:30:00Z", "shipped"),
                                       ("AA", "2024-09-17T05:00:00Z", "in_transit")] {
                _ = try await api.rows("""
                    INSERT INTO shipment_events (order_id, shipment_id, carrier, tracking_number, event_code, event_at, status,
                                                 location, description, run_id)
                    VALUES (\(UUID(uuidString: id)!), \(shipmentID), 'UPS', '1Z1', \(code), \(Timestamp(rfc3339: at)!), \(status),
                            'Louisville, KY', \("scan " + code), 7)
                    """)
            }
            let history = try await client.send(.get, "/orders/\(id)/history")
            #expect(history.status == .ok)
            let events = try #require(history.object["events"] as? [[String: Any]])
            let summary = events.map { "\($0["at"] as? String ?? "?") \($0["type"] as? String ?? "?") \($0["eventCode"] as? String ?? $0["kind"] as? String ?? "?")" }
            #expect(summary == [
                "2024-09-17T03:21:38.892Z order created",
                "2024-09-17T03:30:00.000Z carrier LC",
                "2024-09-17T04:00:00.000Z order shipment_added",
                "2024-09-17T04:00:00.000Z order status_changed",
                "2024-09-17T04:00:00.000Z carrier PU",
                "2024-09-17T05:00:00.000Z carrier AA",
                "2024-09-17T05:00:00.000Z carrier AR",
                "2024-09-18T10:00:00.000Z carrier DL",
            ])
            #expect(history.text.hasPrefix("""
                {"events":[{"at":"2024-09-17T03:21:38.892Z","type":"order","kind":"created","fromStatus":null,"toStatus":"processing",\
                "status":null,"carrier":null,"trackingNumber":null,"eventCode":null,"location":null,"description":null,"source":"api",\
                "runId":null},{"at":"2024-09-17T03:30:00.000Z","type":"carrier","kind":"carrier_event","fromStatus":null,\
                "toStatus":null,"status":"shipped","carrier":"UPS","trackingNumber":"1Z1","eventCode":"LC","location":"Louisville, KY",\
                "description":"scan LC","source":null,"runId":7},
                """))
        }
    }

    @Test func patchShippingOnTwoShipmentsChangesOnlyTheMostRecent() async throws {
        try await APIHarness.run { client, api in
            let id = try #require(try await client.createSeedOrder().object["id"] as? String)
            let first = try await client.send(.post, "/orders/\(id)/shipments", json: #"{"carrier":"UPS","trackingNumber":"1ZA"}"#)
            let second = try await client.send(.post, "/orders/\(id)/shipments", json: #"{"carrier":"UPS","trackingNumber":"1ZB"}"#)
            let firstID = try #require(first.object["id"] as? Int), secondID = try #require(second.object["id"] as? Int)

            let changed = try await client.send(.patch, "/orders/\(id)/shipping", json: #"{"trackingCompany":"dhl","trackingNumber":"jd01"}"#)
            #expect(changed.status == .ok, "\(changed.text)")
            #expect(changed.object["trackingCompany"] as? String == "DHL")
            #expect(changed.object["trackingNumber"] as? String == "JD01")
            #expect(changed.object["status"] as? String == "shipped")
            let shipments = try #require(changed.object["shipments"] as? [[String: Any]])
            #expect(shipments.count == 2)
            #expect(changed.text.contains(#""shipments":[\#(first.text),"#)) // the first, byte for byte
            #expect(shipments.last?["id"] as? Int == secondID)
            #expect(shipments.last?["carrier"] as? String == "DHL")
            #expect(try await api.rows("SELECT id::text, carrier, tracking_number FROM shipments ORDER BY id")
                    == [["\(firstID)", "UPS", "1ZA"], ["\(secondID)", "DHL", "JD01"]])
            #expect(try await api.rows("SELECT tracking_company, tracking_number FROM orders") == [["DHL", "JD01"]])

            // The first shipment's number on the most recent one would make two equal shipments.
            let clash = try await client.send(.patch, "/orders/\(id)/shipping", json: #"{"trackingCompany":"UPS","trackingNumber":"1za"}"#)
            #expect(clash.status == .conflict)
            #expect(clash.object["type"] as? String == "urn:orderflow:problem:duplicate-shipment")

            // Both null removes the most recent; the order then shows the one before it.
            let removed = try await client.send(.patch, "/orders/\(id)/shipping", json: #"{"trackingCompany":null,"trackingNumber":null}"#)
            #expect(removed.status == .ok)
            #expect(removed.object["trackingCompany"] as? String == "UPS")
            #expect(removed.object["trackingNumber"] as? String == "1ZA")
            #expect(removed.text.hasSuffix(#""shipments":[\#(first.text)]}"#))
            #expect(try await api.rows("SELECT tracking_company, tracking_number FROM orders") == [["UPS", "1ZA"]])
            let events = try await api.rows("SELECT kind, tracking_company, tracking_number FROM order_events WHERE kind = 'shipping_updated' ORDER BY id")
            #expect(events == [["shipping_updated", "DHL", "JD01"], ["shipping_updated", "UPS", "1ZA"]])
        }
    }

    @Test func theSameProductOnTwoLinesIsTwoLines() async throws {
        try await APIHarness.run { client, api in
            let body = #"{"customerId":"c1","products":[{"productId":"p","quantity":1},{"productId":"p","quantity":3}]}"#
            let created = try await client.send(.post, "/orders", json: body)
            #expect(created.status == .created, "\(created.text)")
            #expect(created.text.contains(#""products":[{"productId":"p","quantity":1},{"productId":"p","quantity":3}]"#))
            let id = try #require(created.object["id"] as? String)
            #expect(try await client.send(.get, "/orders/\(id)").text == created.text)
            #expect(try await api.rows("SELECT line_no::text, product_id, quantity::text FROM order_items ORDER BY line_no")
                    == [["1", "p", "1"], ["2", "p", "3"]])
            // Each line is its own: the second can ship on its own, up to its own quantity.
            let shipment = try await client.send(.post, "/orders/\(id)/shipments",
                                                 json: #"{"carrier":"UPS","trackingNumber":"1Z1","lines":[{"lineNo":2,"quantity":3}]}"#)
            #expect(shipment.status == .created, "\(shipment.text)")
        }
    }

    @Test func aListPageCarriesEachOrdersShipments() async throws {
        try await APIHarness.run { client, _ in
            var ids: [String] = []
            for _ in 0..<3 { ids.append(try #require(try await client.createSeedOrder().object["id"] as? String)) }
            let a = try await client.send(.post, "/orders/\(ids[0])/shipments", json: #"{"carrier":"UPS","trackingNumber":"1ZA"}"#)
            let b = try await client.send(.post, "/orders/\(ids[2])/shipments", json: #"{"carrier":"DHL","trackingNumber":"B"}"#)
            let c = try await client.send(.post, "/orders/\(ids[2])/shipments", json: #"{"carrier":"DHL","trackingNumber":"C"}"#)
            let page = try await client.send(.get, "/orders?limit=10")
            let orders = try #require(page.object["orders"] as? [[String: Any]])
            #expect(orders.compactMap { $0["id"] as? String } == ids)
            #expect(orders.map { ($0["shipments"] as? [Any])?.count } == [1, 0, 2])
            #expect(page.text.contains(#""shipments":[\#(a.text)]}"#))
            #expect(page.text.contains(#""shipments":[]}"#))
            #expect(page.text.contains(#""shipments":[\#(b.text),\#(c.text)]}"#))
        }
    }
}
