/// The kind of an error, in the style of postgres-nio's `PSQLError.Code`: each error type's
/// codes are static members of `ErrorCode<ThatError>`, so adding one breaks no caller that
/// switches with a default, and the codes of different errors cannot be mixed up.
public struct ErrorCode<Domain>: Hashable, Sendable, CustomStringConvertible {
    /// The code's stable name, also the machine-readable reason in reports.
    public let description: String

    /// A code named `name`.
    public init(_ name: String) { description = name }
}

/// An error that is a code and a message a person can act on: why a run or an export stopped.
/// Each use names its own `Domain` (`RunError`, `ExportError`), so their codes stay apart.
public struct CodedError<Domain>: Error, CustomStringConvertible, Sendable, Equatable {
    public typealias Code = ErrorCode<Domain>

    public var code: Code
    /// What happened and what to do about it, for the report and stderr.
    public var message: String
    public var description: String { message }

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }
}
