import Foundation
import HTTPTypes
import HummingbirdTesting
import OrderAPI
import OrderflowTestSupport
import Testing

/// `GET /metrics` (docs/metrics.md), read back by the real promtool.
@Suite struct MetricsEndpointTests {
    @Test func metricsCountRequestsByRouteAndStatusAndPassPromtool() async throws {
        try await APIHarness.run { client, _ in
            let created = try await client.createSeedOrder()
            let id = try #require(created.object["id"] as? String)
            for _ in 0..<3 {
                let got = try await client.send(.get, "/orders/\(id)")
                #expect(got.status == .ok)
            }
            let missing = try await client.send(.get, "/orders/01890000-0000-7000-8000-000000000000")
            #expect(missing.status == .notFound)
            let nowhere = try await client.send(.get, "/no/such/path")
            #expect(nowhere.status == .notFound)

            let response = try await client.send(.get, "/metrics")
            #expect(response.status == .ok)
            #expect(response.headers[.contentType]?.hasPrefix("text/plain; version=0.0.4") == true)
            let text = response.text
            // Route patterns, never raw ids: the series stay bounded.
            #expect(text.contains(#"orderflow_http_requests_total{route="/orders/{id}",method="GET",status="200"} 3"#), "\(text)")
            #expect(text.contains(#"orderflow_http_requests_total{route="/orders/{id}",method="GET",status="404"} 1"#))
            #expect(text.contains(#"orderflow_http_requests_total{route="/orders",method="POST",status="201"} 1"#))
            #expect(text.contains(#"route="unmatched""#))
            #expect(!text.contains(id))
            #expect(text.contains(#"orderflow_http_request_duration_seconds_bucket{route="/orders/{id}",method="GET",le="+Inf"} 4"#), "\(text)")
            #expect(text.contains("orderflow_database_up 1"))
            #expect(text.contains("orderflow_pool_size 2"))
            #expect(text.contains(#"orderflow_pool_connections{state="in_use"}"#) && text.contains("orderflow_pool_waiting_requests 0"))

            let check = try TestProgram.run("/usr/bin/promtool", ["check", "metrics"], input: Array(text.utf8))
            #expect(check.status == 0 && check.error.isEmpty, "\(check.error)")
        }
    }

    @Test func metricsNeedTheTokenLikeEveryRoute() async throws {
        try await APIHarness.run(configuration: .init(tokens: ["t0ken"])) { client, _ in
            let anonymous = try await client.send(.get, "/metrics")
            #expect(anonymous.status == .unauthorized)
            let authorized = try await client.send(.get, "/metrics", headers: [.authorization: "Bearer t0ken"])
            #expect(authorized.status == .ok)
        }
    }
}
