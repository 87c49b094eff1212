import Foundation
import HTTPTypes
import Hummingbird
import Logging
import OrderModel
import PostgresClient

/// The methods each path supports, for 405 answers with `Allow` (the router alone says 404).
enum MethodNotAllowed {
    static let routes: [(segments: [String], allowed: String)] = [
        (["orders"], "GET, HEAD, POST"),
        (["orders", "*"], "GET, HEAD, DELETE"),
        (["orders", "*", "status"], "PATCH"),
        (["orders", "*", "shipping"], "PATCH"),
        (["orders", "*", "shipments"], "GET, HEAD, POST"),
        (["orders", "*", "history"], "GET, HEAD"),
        (["health", "live"], "GET, HEAD"),
        (["metrics"], "GET, HEAD"),
        (["health", "ready"], "GET, HEAD"),
        (["openapi.yaml"], "GET, HEAD"),
    ]

    /// The `Allow` value when `path` is one of ours, else `nil` (a plain 404).
    static func allowed(forPath path: String) -> String? {
        let segments = path.split(separator: "/", omittingEmptySubsequences: true)
        return routes.first { route in
            route.segments.count == segments.count
                && zip(route.segments, segments).allSatisfy { $0 == "*" || $0 == $1 }
        }?.allowed
    }
}
