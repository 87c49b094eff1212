import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import OrderAPI
import OrderModel
import PostgresClient
import OrderflowTestSupport
import Testing

@Suite struct OrderAPITests {
    @Test func createReturnsTheSeedShapeByteForByte() async throws {
        try await APIHarness.run { client, api in
            let response = try await client.createSeedOrder()
            #expect(response.status == .created)
            let id = try #require(response.object["id"] as? String)
            #expect(response.text == """
                {"customerId":"12345","products":[{"productId":"product-1","quantity":2},{"productId":"product-2","quantity":1}],\
                "trackingCompany":null,"trackingNumber":null,"id":"\(id)","status":"processing",\
                "createdAt":"2024-09-17T03:21:38.892Z","updatedAt":"2024-09-17T03:21:38.892Z","shipments":[]}
                """)
            #expect(response.headers[.contentType] == "application/json")
            #expect(response.headers[.location] == "/orders/\(id)")
            #expect(response.headers[.eTag]?.hasPrefix("\"") == true)
            #expect(response.headers[HTTPField.Name("X-Request-Id")!] != nil)
            let rows = try await api.rows("SELECT source, kind, to_status, event_at::text FROM order_events WHERE order_id = \(UUID(uuidString: id)!)")
            #expect(rows == [["api", "created", "processing", "2024-09-17 03:21:38.892+00"]])
            let stored = try await api.rows("SELECT source, status, customer_id FROM orders")
            #expect(stored == [["api", "processing", "12345"]])
        }
    }

    @Test func optionalFieldsRoundTrip() async throws {
        try await APIHarness.run { client, _ in
            let body = #"{"customerId":"c1","externalRef":"legacy-7","currency":"EUR","products":[{"productId":"p","quantity":1,"unitPrice":"19.90"}]}"#
            let created = try await client.send(.post, "/orders", json: body)
            #expect(created.status == .created)
            #expect(created.text.contains(#""products":[{"productId":"p","quantity":1,"unitPrice":"19.90"}]"#))
            #expect(created.text.hasSuffix(#""externalRef":"legacy-7","currency":"EUR","shipments":[]}"#))
            let duplicate = try await client.send(.post, "/orders", json: body)
            #expect(duplicate.status == .conflict)
            #expect(duplicate.headers[.contentType] == "application/problem+json")
        }
    }

    @Test func getByIDMatchesTheCreatedOrder() async throws {
        try await APIHarness.run { client, _ in
            let created = try await client.createSeedOrder()
            let id = try #require(created.object["id"] as? String)
            let fetched = try await client.send(.get, "/orders/\(id)")
            #expect(fetched.status == .ok)
            #expect(fetched.text == created.text)
            #expect(fetched.headers[.eTag] == created.headers[.eTag])

            let missing = try await client.send(.get, "/orders/\(UUID().uuidString.lowercased())")
            #expect(missing.status == .notFound)
            #expect(missing.headers[.contentType] == "application/problem+json")
            #expect(missing.object["status"] as? Int == 404)
            #expect(missing.object["type"] as? String == "urn:orderflow:problem:not-found")

            let malformed = try await client.send(.get, "/orders/not-a-uuid")
            #expect(malformed.status == .badRequest)
            #expect((malformed.object["errors"] as? [[String: String]])?.first?["field"] == "id")
        }
    }

    @Test func statusChangesFollowTheSharedRulesAndAreRecorded() async throws {
        try await APIHarness.run { client, api in
            let id = try #require(try await client.createSeedOrder().object["id"] as? String)
            let delivered = try await client.send(.patch, "/orders/\(id)/status", json: #"{"status":"delivered"}"#)
            #expect(delivered.status == .ok)
            #expect(delivered.object["status"] as? String == "delivered")
            #expect(delivered.object["updatedAt"] as? String != delivered.object["createdAt"] as? String)
            #expect(delivered.text.hasPrefix(#"{"customerId":"12345","products":["#))

            let again = try await client.send(.patch, "/orders/\(id)/status", json: #"{"status":"delivered"}"#)
            #expect(again.status == .ok)
            #expect(again.text == delivered.text) // the same status is a no-op

            let illegal = try await client.send(.patch, "/orders/\(id)/status", json: #"{"status":"processing"}"#)
            #expect(illegal.status == .conflict)
            #expect(illegal.object["from"] as? String == "delivered")
            #expect(illegal.object["to"] as? String == "processing")

            let unknown = try await client.send(.patch, "/orders/\(id)/status", json: #"{"status":"lost"}"#)
            #expect(unknown.status == .badRequest)

            let events = try await api.rows("SELECT kind, from_status, to_status, source FROM order_events ORDER BY id")
            #expect(events == [["created", nil, "processing", "api"], ["status_changed", "processing", "delivered", "api"]])
        }
    }

    @Test func shippingIsNormalizedAndRecorded() async throws {
        try await APIHarness.run { client, api in
            let id = try #require(try await client.createSeedOrder().object["id"] as? String)
            let shipped = try await client.send(.patch, "/orders/\(id)/shipping",
                                                json: #"{"trackingCompany":"FedEx","trackingNumber":"1234567890"}"#)
            #expect(shipped.status == .ok)
            #expect(shipped.text.contains(#""trackingCompany":"FedEx","trackingNumber":"1234567890","id":"\#(id)","status":"processing""#))
            // The order's first shipment: recorded as added (issue 12), the status unchanged.
            let events = try await api.rows("SELECT kind, tracking_company, tracking_number FROM order_events WHERE kind <> 'created'")
            #expect(events == [["shipment_added", "FedEx", "1234567890"]])
            let stored = try await api.rows("SELECT carrier, tracking_number, source, status FROM shipments")
            #expect(stored == [["FedEx", "1234567890", "api", nil]])

            let renamed = try await client.send(.patch, "/orders/\(id)/shipping", json: #"{"trackingCompany":"federal express","trackingNumber":" 1z999aa1 "}"#)
            #expect(renamed.status == .ok)
            #expect(renamed.object["trackingCompany"] as? String == "FedEx")
            #expect(renamed.object["trackingNumber"] as? String == "1Z999AA1")
            let updated = try await api.rows("SELECT kind, tracking_company, tracking_number FROM order_events WHERE kind = 'shipping_updated'")
            #expect(updated == [["shipping_updated", "FedEx", "1Z999AA1"]])

            let cleared = try await client.send(.patch, "/orders/\(id)/shipping", json: #"{"trackingCompany":null,"trackingNumber":null}"#)
            #expect(cleared.status == .ok)
            #expect(cleared.text.contains(#""trackingCompany":null,"trackingNumber":null,"#))
            #expect(cleared.text.hasSuffix(#""shipments":[]}"#))
            #expect(try await api.rows("SELECT count(*) FROM shipments") == [["0"]])

            let noNumber = try await client.send(.patch, "/orders/\(id)/shipping", json: #"{"trackingCompany":"UPS","trackingNumber":null}"#)
            #expect(noNumber.status == .unprocessableContent)
            #expect(noNumber.object["type"] as? String == "urn:orderflow:problem:tracking-number-required")

            let missing = try await client.send(.patch, "/orders/\(id)/shipping", json: #"{"trackingCompany":42}"#)
            #expect(missing.status == .badRequest)
            let fields = (missing.object["errors"] as? [[String: String]])?.compactMap { $0["field"] }
            #expect(fields?.sorted() == ["trackingCompany", "trackingNumber"])
        }
    }

    @Test func deleteRemovesTheOrderAndKeepsHistory() async throws {
        try await APIHarness.run { client, api in
            let id = try #require(try await client.createSeedOrder().object["id"] as? String)
            let deleted = try await client.send(.delete, "/orders/\(id)")
            #expect(deleted.status == .noContent)
            let gone = try await client.send(.get, "/orders/\(id)")
            #expect(gone.status == .notFound, "\(gone.text)")
            #expect(try await client.send(.delete, "/orders/\(id)").status == .notFound)
            let events = try await api.rows("SELECT kind, from_status FROM order_events ORDER BY id")
            #expect(events == [["created", nil], ["deleted", "processing"]])
            #expect(try await api.rows("SELECT count(*) FROM order_items") == [["0"]])
        }
    }

    @Test func ifMatchPreventsLostUpdates() async throws {
        try await APIHarness.run { client, _ in
            let created = try await client.createSeedOrder()
            let id = try #require(created.object["id"] as? String)
            let etag = try #require(created.headers[.eTag])

            let first = try await client.send(.patch, "/orders/\(id)/status", json: #"{"status":"shipped"}"#, headers: [.ifMatch: etag])
            #expect(first.status == .ok)
            #expect(first.headers[.eTag] != etag)

            let stale = try await client.send(.patch, "/orders/\(id)/status", json: #"{"status":"cancelled"}"#, headers: [.ifMatch: etag])
            #expect(stale.status == .preconditionFailed)
            #expect(stale.headers[.contentType] == "application/problem+json")
            #expect(try await client.send(.delete, "/orders/\(id)", headers: [.ifMatch: etag]).status == .preconditionFailed)
            #expect(try await client.send(.patch, "/orders/\(id)/shipping", json: #"{"trackingCompany":"UPS","trackingNumber":"1z9"}"#,
                                          headers: [.ifMatch: etag]).status == .preconditionFailed)

            let current = try #require(first.headers[.eTag])
            let second = try await client.send(.patch, "/orders/\(id)/status", json: #"{"status":"cancelled"}"#,
                                               headers: [.ifMatch: "\"other\", \(current)"])
            #expect(second.status == .ok)
            #expect(try await client.send(.delete, "/orders/\(id)", headers: [.ifMatch: "*"]).status == .noContent)
        }
    }

    @Test func idempotencyKeyReplaysTheSameResponse() async throws {
        try await APIHarness.run { client, api in
            let key: HTTPFields = [HTTPField.Name("Idempotency-Key")!: "order-attempt-1"]
            let first = try await client.createSeedOrder(headers: key)
            #expect(first.status == .created)
            // Same request with other whitespace and member order: still the same request.
            let reordered = #"{ "products": [{"quantity":2,"productId":"product-1"},{"productId":"product-2","quantity":1}], "customerId": "12345" }"#
            let replay = try await client.send(.post, "/orders", json: reordered, headers: key)
            #expect(replay.status == .created)
            #expect(replay.text == first.text)
            #expect(replay.headers[.eTag] == first.headers[.eTag])
            #expect(replay.headers[HTTPField.Name("Idempotent-Replayed")!] == "true")
            #expect(try await api.rows("SELECT count(*) FROM orders") == [["1"]])

            let other = try await client.send(.post, "/orders", json: #"{"customerId":"999","products":[{"productId":"x","quantity":1}]}"#, headers: key)
            #expect(other.status == .unprocessableContent)
            #expect(other.headers[.contentType] == "application/problem+json")
            #expect(try await api.rows("SELECT count(*) FROM orders") == [["1"]])

            // Deleting the order releases its key: the retry creates a new order.
            let firstID = try #require(first.object["id"] as? String)
            #expect(try await client.send(.delete, "/orders/\(firstID)").status == .noContent)
            let afterDelete = try await client.createSeedOrder(headers: key)
            #expect(afterDelete.status == .created)
            #expect(afterDelete.object["id"] as? String != firstID)

            let badKey = try await client.createSeedOrder(headers: [HTTPField.Name("Idempotency-Key")!: String(repeating: "k", count: 300)])
            #expect(badKey.status == .badRequest)
        }
    }

    @Test func invalidBodiesNameEveryOffendingField() async throws {
        try await APIHarness.run { client, api in
            let response = try await client.send(.post, "/orders", json: #"{"customerId":"","products":[{"productId":"p","quantity":0},{"quantity":"2"},7]}"#)
            #expect(response.status == .badRequest)
            #expect(response.headers[.contentType] == "application/problem+json")
            let fields = (response.object["errors"] as? [[String: String]])?.compactMap { $0["field"] }
            #expect(fields == ["customerId", "products[0].quantity", "products[1].productId", "products[1].quantity", "products[2]"])

            let notJSON = try await client.send(.post, "/orders", json: #"{"customerId": "#)
            #expect(notJSON.status == .badRequest)
            let notObject = try await client.send(.post, "/orders", json: "[]")
            #expect(notObject.status == .badRequest)
            let noProducts = try await client.send(.post, "/orders", json: #"{"customerId":"1","products":[]}"#)
            #expect(noProducts.status == .badRequest)
            let tooMany = try await client.send(.post, "/orders", json: #"{"customerId":"1","products":[{"productId":"p","quantity":1.5}]}"#)
            #expect(tooMany.status == .badRequest)
            #expect(try await api.rows("SELECT count(*) FROM orders") == [["0"]])
        }
    }

    @Test func mediaTypeAndBodySizeAreChecked() async throws {
        try await APIHarness.run(configuration: .init(maxBodyBytes: 256)) { client, _ in
            let form = try await client.send(.post, "/orders", json: seedBody, headers: [.contentType: "text/plain"])
            #expect(form.status == .unsupportedMediaType)
            #expect(form.headers[.contentType] == "application/problem+json")
            let none = try await client.execute(uri: "/orders", method: .post, body: ByteBuffer(string: seedBody))
            #expect(none.status == .unsupportedMediaType)
            let charset = try await client.send(.post, "/orders", json: seedBody, headers: [.contentType: "application/json; charset=utf-8"])
            #expect(charset.status == .created)

            let big = #"{"customerId":"1","products":[{"productId":"\#(String(repeating: "p", count: 300))","quantity":1}]}"#
            let tooLarge = try await client.send(.post, "/orders", json: big)
            #expect(tooLarge.status == .contentTooLarge)
            #expect(tooLarge.headers[.contentType] == "application/problem+json")
        }
    }

    @Test func listFiltersAndPagesWithACursor() async throws {
        try await APIHarness.run { client, _ in
            var ids: [String] = []
            for customer in ["a", "b", "a", "a", "b"] {
                let response = try await client.send(.post, "/orders", json: #"{"customerId":"\#(customer)","products":[{"productId":"p","quantity":1}]}"#)
                #expect(response.status == .created, "\(response.text)")
                ids.append(try #require(response.object["id"] as? String))
            }
            _ = try await client.send(.patch, "/orders/\(ids[3])/status", json: #"{"status":"shipped"}"#)

            var seen: [String] = []
            var uri = "/orders?customerId=a&limit=2"
            while true {
                let page = try await client.send(.get, uri)
                #expect(page.status == .ok)
                let orders = try #require(page.object["orders"] as? [[String: Any]])
                seen += orders.compactMap { $0["id"] as? String }
                guard let next = page.object["nextCursor"] as? String else {
                    #expect(page.text.hasSuffix(#""nextCursor":null}"#))
                    break
                }
                uri = "/orders?customerId=a&limit=2&cursor=\(next)"
            }
            #expect(seen == [ids[0], ids[2], ids[3]])

            let shipped = try await client.send(.get, "/orders?status=shipped")
            #expect((shipped.object["orders"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == [ids[3]])

            // The test clock moves 1 ms per reading; the second order was created at start + 1 ms.
            let from = Timestamp(microseconds: TestClock.start.microseconds + 1000).description
            let to = Timestamp(microseconds: TestClock.start.microseconds + 3000).description
            let range = try await client.send(.get, "/orders?createdFrom=\(from)&createdTo=\(to)")
            #expect((range.object["orders"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == [ids[1], ids[2]])

            let yearZero = try await client.send(.get, "/orders?createdTo=0000-01-01T00:00:00Z")
            #expect(yearZero.status == .badRequest)
            let bad = try await client.send(.get, "/orders?limit=1000&status=lost&createdFrom=yesterday&cursor=zzz")
            #expect(bad.status == .badRequest)
            let fields = (bad.object["errors"] as? [[String: String]])?.compactMap { $0["field"] }
            #expect(fields == ["status", "createdFrom", "cursor", "limit"])
        }
    }

    @Test func tokensAreRequiredWhenConfigured() async throws {
        try await APIHarness.run(configuration: .init(tokens: ["s3cret-token"])) { client, _ in
            let anonymous = try await client.createSeedOrder()
            #expect(anonymous.status == .unauthorized)
            #expect(anonymous.headers[.wwwAuthenticate]?.hasPrefix("Bearer") == true)
            #expect(anonymous.headers[.contentType] == "application/problem+json")
            #expect(!anonymous.text.contains("s3cret"))
            let wrong = try await client.createSeedOrder(headers: [.authorization: "Bearer s3cret-tokem"])
            #expect(wrong.status == .unauthorized)
            let right = try await client.createSeedOrder(headers: [.authorization: "Bearer s3cret-token"])
            #expect(right.status == .created)
            #expect(try await client.send(.get, "/health/live").status == .ok)
            #expect(try await client.send(.get, "/openapi.yaml").status == .ok)
        }
    }

    @Test func unknownPathsAndMethodsAreProblems() async throws {
        try await APIHarness.run { client, _ in
            let put = try await client.send(.put, "/orders", json: seedBody)
            #expect(put.status == .methodNotAllowed)
            #expect(put.headers[.allow] == "GET, HEAD, POST")
            let query = try await client.send(HTTPRequest.Method("QUERY")!, "/health/live")
            #expect(query.status == .methodNotAllowed)
            let nowhere = try await client.send(.get, "/nowhere")
            #expect(nowhere.status == .notFound)
            #expect(nowhere.headers[.contentType] == "application/problem+json")
        }
    }

    @Test func healthAndOpenAPIDocument() async throws {
        try await APIHarness.run { client, _ in
            let live = try await client.send(.get, "/health/live")
            #expect(live.text == #"{"status":"live"}"#)
            let ready = try await client.send(.get, "/health/ready")
            #expect(ready.status == .ok)
            #expect(ready.text == #"{"status":"ready"}"#)
            let document = try await client.send(.get, "/openapi.yaml")
            let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../docs/openapi.yaml")
            #expect(document.text == (try String(contentsOf: file, encoding: .utf8)))
            #expect(document.text.hasPrefix("openapi: 3.1"))
        }
    }
}

@Suite struct OrderAPIAvailabilityTests {
    @Test func unreachableDatabaseIs503WithRetryAfter() async throws {
        try await APIHarness.run(conninfo: "postgresql://127.0.0.1:1/none?connect_timeout=2") { client, _ in
            let response = try await client.createSeedOrder()
            #expect(response.status == .serviceUnavailable)
            #expect(response.headers[.retryAfter] == "1")
            #expect(response.headers[.contentType] == "application/problem+json")
            #expect(try await client.send(.get, "/health/ready").status == .serviceUnavailable)
            #expect(try await client.send(.get, "/health/live").status == .ok)
        }
    }

    @Test func recoversAfterItsConnectionsWereKilled() async throws {
        let url = try await BlockingThread.run { try TestDatabase.fresh() }
        try await APIHarness.run(conninfo: url) { client, api in
            let id = try #require(try await client.createSeedOrder().object["id"] as? String)
            let admin = PostgresConnectionPool(.init(conninfo: url, size: 1))
            defer { admin.shutdown() }
            try await admin.withConnection { conn in
                _ = try conn.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = \(OrderAPI.applicationName) AND datname = current_database() AND pid <> pg_backend_pid()")
            }
            // A request on a killed connection answers 503; the thread reconnects for the next.
            var statuses: [HTTPResponse.Status] = []
            for _ in 0..<4 { statuses.append(try await client.send(.get, "/orders/\(id)").status) }
            #expect(statuses.allSatisfy { $0 == .ok || $0 == .serviceUnavailable })
            #expect(statuses.suffix(2) == [.ok, .ok])
        }
    }

    @Test func reconnectsWhereTheServerIsNow() async throws {
        let url = try await BlockingThread.run { try TestDatabase.fresh() }
        var configuration = PostgresConnectionPool.Configuration(conninfo: "postgresql://127.0.0.1:1/gone?connect_timeout=2", size: 1)
        configuration.currentConninfo = { url }
        let pool = PostgresConnectionPool(configuration)
        defer { pool.shutdown() }
        let count = try await pool.withConnection { conn in try conn.query("SELECT count(*) AS n FROM orders").rows[0].decode("n", as: Int.self) }
        #expect(count == 0)
    }

    @Test func aRowLockedByAnImportMakesTheRequestWaitABoundedTime() async throws {
        let url = try await BlockingThread.run { try TestDatabase.fresh() }
        try await APIHarness.run(conninfo: url, lockTimeout: 200) { client, _ in
            let id = try #require(try await client.createSeedOrder().object["id"] as? String)
            // Held on a thread of its own: a pool would roll the transaction back after the job.
            let locked = DispatchSemaphore(value: 0), release = DispatchSemaphore(value: 0)
            let holder = Task {
                try await BlockingThread.run {
                    let conn = try PostgresConnection(url)
                    try conn.execute("BEGIN")
                    try conn.query("SELECT id FROM orders WHERE id = \(UUID(uuidString: id)!) FOR UPDATE")
                    locked.signal()
                    release.wait()
                    conn.rollbackQuietly()
                }
            }
            try await BlockingThread.run { locked.wait() }
            defer { release.signal() }
            let started = ContinuousClock.now
            let response = try await client.send(.patch, "/orders/\(id)/status", json: #"{"status":"shipped"}"#)
            #expect(response.status == .serviceUnavailable)
            #expect(response.headers[.retryAfter] == "1")
            // Without lock_timeout the request would wait for the holder, which waits for this check.
            #expect(ContinuousClock.now - started < .seconds(15))
            release.signal()
            try await holder.value
        }
    }
}

@Suite struct OrderAPIConfigurationTests {
    @Test func nonLoopbackWithoutTokensIsRefusedUnlessInsecure() throws {
        #expect(throws: OrderAPIConfigurationError.self) { try OrderAPIConfiguration(host: "0.0.0.0").validate() }
        try OrderAPIConfiguration(host: "0.0.0.0", insecure: true).validate()
        try OrderAPIConfiguration(host: "0.0.0.0", tokens: ["t"]).validate()
        try OrderAPIConfiguration(host: "127.0.0.1").validate()
        try OrderAPIConfiguration(host: "::1").validate()
    }

    @Test func tokensParseFromTheEnvironmentOrAFile() {
        #expect(OrderAPIConfiguration.parseTokens("a, b,,c") == ["a", "b", "c"])
        #expect(OrderAPIConfiguration.parseTokens("# clients\nalpha\n\n beta \n") == ["alpha", "beta"])
    }
}
