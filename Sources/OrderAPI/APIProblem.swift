import HTTPTypes
import Hummingbird

/// An RFC 9457 problem: every error response of the API is one of these.
public struct APIProblem: Error, Sendable, Equatable {
    /// One input field that was wrong (the `errors` member of a 400).
    public struct FieldError: Sendable, Equatable {
        public var field: String
        public var message: String
        public init(field: String, message: String) {
            self.field = field
            self.message = message
        }
    }

    public var status: HTTPResponse.Status
    /// A short slug; the problem's `type` is `urn:orderflow:problem:<slug>`.
    public var slug: String
    public var title: String
    public var detail: String?
    public var errors: [FieldError] = []
    /// Extra members (e.g. `from`/`to` of an illegal transition), written in this order.
    public var extensions: [(String, String)] = []
    public var headers: HTTPFields = [:]

    public init(_ status: HTTPResponse.Status, slug: String, title: String, detail: String? = nil,
                errors: [FieldError] = [], extensions: [(String, String)] = [], headers: HTTPFields = [:]) {
        self.status = status
        self.slug = slug
        self.title = title
        self.detail = detail
        self.errors = errors
        self.extensions = extensions
        self.headers = headers
    }

    public static func == (a: APIProblem, b: APIProblem) -> Bool {
        a.status == b.status && a.slug == b.slug && a.detail == b.detail && a.errors == b.errors
            && a.extensions.map(\.0) == b.extensions.map(\.0) && a.extensions.map(\.1) == b.extensions.map(\.1)
    }

    /// The problem+json body.
    func body(instance: String) -> String {
        var json = JSONWriter()
        json.beginObject()
        json.member("type", "urn:orderflow:problem:\(slug)")
        json.member("title", title)
        json.member("status", status.code)
        if let detail { json.member("detail", detail) }
        json.member("instance", instance)
        for (name, value) in extensions { json.member(name, value) }
        if !errors.isEmpty {
            json.objects("errors", errors) { json, error in
                json.member("field", error.field)
                json.member("message", error.message)
            }
        }
        json.endObject()
        return json.text
    }

    func response(instance: String) -> Response {
        var headers = self.headers
        headers[.contentType] = "application/problem+json"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: body(instance: instance))))
    }
}

extension APIProblem {
    static func invalid(_ errors: [FieldError], detail: String = "the request has invalid fields") -> APIProblem {
        APIProblem(.badRequest, slug: "invalid-request", title: "Invalid request", detail: detail, errors: errors)
    }

    static func invalid(field: String, _ message: String) -> APIProblem {
        invalid([FieldError(field: field, message: message)], detail: message)
    }

    static let notFound = APIProblem(.notFound, slug: "not-found", title: "Not found", detail: "no order with this id")

    static let unavailable = APIProblem(
        .serviceUnavailable, slug: "database-unavailable", title: "Service unavailable",
        detail: "the database is unreachable or busy; retry later", headers: [.retryAfter: "1"])
}
