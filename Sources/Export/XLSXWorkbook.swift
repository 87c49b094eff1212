@preconcurrency import Glibc
import CXLSXWriter

/// A libxlsxwriter workbook in constant-memory mode: each row goes to a temp file as soon as the
/// next one begins, so a sheet of a million rows needs no more memory than one of ten. Rows must
/// therefore be written in order. The file itself is written by `close()`.
///
/// Not `Sendable`: it is made, filled and closed on the writer thread.
final class XLSXWorkbook {
    private var workbook: UnsafeMutablePointer<lxw_workbook>?
    /// Kept alive for the workbook's lifetime: libxlsxwriter reads it whenever it opens a temp file.
    private let tmpdir: UnsafeMutablePointer<CChar>
    let path: String

    /// A workbook that `close()` writes to `path`; its temp files go to `tmpdir` (they are
    /// unlinked as soon as they are opened, so nothing is left behind even by a crash).
    init(path: String, tmpdir: String) throws {
        self.path = path
        self.tmpdir = strdup(tmpdir)
        var options = lxw_workbook_options(constant_memory: UInt8(LXW_TRUE.rawValue), tmpdir: self.tmpdir, use_zip64: UInt8(LXW_FALSE.rawValue))
        guard let made = workbook_new_opt(path, &options) else {
            free(self.tmpdir)
            throw ExportError(.output, "libxlsxwriter cannot create a workbook for \(path)")
        }
        workbook = made
    }

    /// Sets the creation time the document properties (and the zip entries) carry; without it
    /// libxlsxwriter stamps the time of writing, and the same rows would give different bytes.
    func setCreated(unixSeconds: Int) throws {
        guard let workbook else { return }
        var properties = lxw_doc_properties()
        properties.created = time_t(unixSeconds)
        try XLSXSheet.check(workbook_set_properties(workbook, &properties), "set the properties of \(path)")
    }

    /// A new sheet after the existing ones.
    func addSheet(_ name: String) throws -> XLSXSheet {
        guard let workbook, let sheet = workbook_add_worksheet(workbook, name) else {
            throw ExportError(.output, "libxlsxwriter cannot add the sheet \(name) to \(path)")
        }
        return XLSXSheet(sheet: sheet, name: name)
    }

    /// A cell format; libxlsxwriter owns it and frees it with the workbook.
    func format(numberFormat: String? = nil, bold: Bool = false) -> OpaquePointer? {
        guard let workbook, let format = workbook_add_format(workbook) else { return nil }
        if let numberFormat { format_set_num_format(format, numberFormat) }
        if bold { format_set_bold(format) }
        return OpaquePointer(format)
    }

    /// Assembles and writes the file (zip, sheets from their temp files); frees the workbook.
    func close() throws {
        guard let workbook else { return }
        self.workbook = nil
        let error = workbook_close(workbook)
        try XLSXSheet.check(error, "write \(path)")
    }

    deinit {
        // A workbook that was never closed (a failed or cancelled export) is freed without
        // writing anything.
        if let workbook { lxw_workbook_free(workbook) }
        free(tmpdir)
    }
}

/// One sheet of an `XLSXWorkbook`; every write checks libxlsxwriter's answer.
struct XLSXSheet {
    fileprivate let sheet: UnsafeMutablePointer<lxw_worksheet>
    let name: String

    /// The most rows a sheet holds (Excel's limit, header included).
    static let maxRows = Int(LXW_ROW_MAX)

    /// A text cell: always a string, never a formula, whatever it starts with.
    func string(_ row: Int, _ col: Int, _ text: UnsafePointer<CChar>, _ format: OpaquePointer? = nil) throws {
        func write(_ text: UnsafePointer<CChar>) throws {
            try Self.check(worksheet_write_string(sheet, lxw_row_t(row), lxw_col_t(col), text, Self.cast(format)), "write a text cell of \(name)")
        }
        // Not through this function again: the escaped text holds `_x005F_`, which would be escaped anew.
        if let escaped = Self.escapingLiteralEscapes(text) {
            try escaped.withUnsafeBufferPointer { try write($0.baseAddress!) }
        } else {
            try write(text)
        }
    }

    /// Excel reads `_xHHHH_` in a string as the character HHHH (that is how libxlsxwriter writes a
    /// CR or another control character), so a value that really contains such a sequence gets its
    /// underscore written as `_x005F_`, and reads back as stored. `nil` when there is none (almost
    /// always: one scan of the bytes).
    static func escapingLiteralEscapes(_ text: UnsafePointer<CChar>) -> [CChar]? {
        let count = strlen(text)
        let bytes = UnsafeBufferPointer(start: UnsafeRawPointer(text).assumingMemoryBound(to: UInt8.self), count: count)
        func isHex(_ b: UInt8) -> Bool { (b >= 0x30 && b <= 0x39) || (b | 0x20 >= 0x61 && b | 0x20 <= 0x66) }
        func escapeAt(_ i: Int) -> Bool {
            i + 6 < count && bytes[i] == 0x5F && bytes[i + 1] == 0x78 && isHex(bytes[i + 2]) && isHex(bytes[i + 3])
                && isHex(bytes[i + 4]) && isHex(bytes[i + 5]) && bytes[i + 6] == 0x5F
        }
        guard let first = (0..<count).first(where: escapeAt) else { return nil }
        var out = [CChar](), i = 0
        out.reserveCapacity(count + 16)
        while i < count {
            if i >= first && escapeAt(i) { out.append(contentsOf: "_x005F".utf8.map { CChar(bitPattern: $0) }) }
            out.append(CChar(bitPattern: bytes[i]))
            i += 1
        }
        out.append(0)
        return out
    }

    /// A text cell from a Swift string.
    func string(_ row: Int, _ col: Int, _ text: String, _ format: OpaquePointer? = nil) throws {
        try text.withCString { try string(row, col, $0, format) }
    }

    func number(_ row: Int, _ col: Int, _ value: Double, _ format: OpaquePointer? = nil) throws {
        try Self.check(worksheet_write_number(sheet, lxw_row_t(row), lxw_col_t(col), value, Self.cast(format)), "write a number cell of \(name)")
    }

    func boolean(_ row: Int, _ col: Int, _ value: Bool) throws {
        try Self.check(worksheet_write_boolean(sheet, lxw_row_t(row), lxw_col_t(col), value ? 1 : 0, nil), "write a boolean cell of \(name)")
    }

    func columnWidth(_ col: Int, _ width: Double) throws {
        try Self.check(worksheet_set_column(sheet, lxw_col_t(col), lxw_col_t(col), width, nil), "set a column width of \(name)")
    }

    /// Keeps the first row in view while scrolling.
    func freezeHeader() {
        worksheet_freeze_panes(sheet, 1, 0)
    }

    /// An autofilter over rows 0…`lastRow` and columns 0…`lastCol`.
    func autofilter(lastRow: Int, lastCol: Int) throws {
        try Self.check(worksheet_autofilter(sheet, 0, 0, lxw_row_t(lastRow), lxw_col_t(lastCol)), "set the autofilter of \(name)")
    }

    private static func cast(_ format: OpaquePointer?) -> UnsafeMutablePointer<lxw_format>? {
        format.map { UnsafeMutablePointer<lxw_format>($0) }
    }

    static func check(_ error: lxw_error, _ what: String) throws {
        guard error != LXW_NO_ERROR else { return }
        throw ExportError(.output, "libxlsxwriter cannot \(what): \(String(cString: lxw_strerror(error)))")
    }
}
