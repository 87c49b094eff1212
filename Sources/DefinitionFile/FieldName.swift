/// Canonical field names: snake_case in definitions and CSV headers, camelCase as NDJSON keys.
public enum FieldName {
    /// The NDJSON key of a canonical field (`customer_id` → `customerId`).
    public static func jsonKey(_ field: String) -> String {
        let parts = field.split(separator: "_")
        return parts.enumerated().map { $0.offset == 0 ? String($0.element) : $0.element.prefix(1).uppercased() + $0.element.dropFirst() }.joined()
    }
}
