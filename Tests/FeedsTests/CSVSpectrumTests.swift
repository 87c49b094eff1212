import Feeds
import Foundation
import Testing

/// The csv-spectrum conformance suite, read from the shared checkout next to the project (never
/// copied into the repository).
enum CSVSpectrum {
    static let directory: URL? = {
        // Tests/FeedsTests/CSVSpectrumTests.swift → project root → ../shared/conformance/csv-spectrum
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let directory = root.deletingLastPathComponent().appendingPathComponent("shared/conformance/csv-spectrum").standardizedFileURL
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory.appendingPathComponent("csvs").path, isDirectory: &isDirectory), isDirectory.boolValue else {
            print("csv-spectrum not found at \(directory.path); conformance tests skipped")
            return nil
        }
        return directory
    }()

    static let cases = [
        "comma_in_quotes", "empty", "empty_crlf", "escaped_quotes", "json", "location_coordinates",
        "newlines", "newlines_crlf", "quotes_and_newlines", "simple", "simple_crlf", "utf8",
    ]

    /// Expected values that contradict the suite's own input: location_coordinates.csv says
    /// 2095257564 where its JSON says 1234567890. Checked against the CSV text instead.
    static let errata: [String: [String: String]] = [
        "location_coordinates": ["Contact Phone Number": "2095257564"],
    ]

    /// Cases whose expected output needs a quote inside an unquoted field, which strict RFC 4180
    /// forbids; they pass with `allowsQuotesInUnquotedFields` and fail with `unexpectedQuote` by default.
    static let strayQuoteCases: Set<String> = ["location_coordinates"]

    static func expected(_ name: String) throws -> [[String: String]] {
        let data = try Data(contentsOf: directory!.appendingPathComponent("json/\(name).json"))
        let json = try JSONSerialization.jsonObject(with: data)
        // One file in the suite holds a bare object instead of an array of one.
        if let object = json as? [String: String] { return [object] }
        return try #require(json as? [[String: String]])
    }

    static func input(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: directory!.appendingPathComponent("csvs/\(name).csv")))
    }
}

@Suite("csv-spectrum conformance", .enabled(if: CSVSpectrum.directory != nil, "needs ../shared/conformance/csv-spectrum"))
struct CSVSpectrumTests {
    @Test("the suite holds exactly the known cases")
    func inventory() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: CSVSpectrum.directory!.appendingPathComponent("csvs").path)
        #expect(Set(files) == Set(CSVSpectrum.cases.map { "\($0).csv" }))
    }

    @Test("each case parses to its expected objects", arguments: CSVSpectrum.cases, chunkSizes)
    func conformance(name: String, chunkSize: Int) throws {
        let input = try CSVSpectrum.input(name)
        var expected = try CSVSpectrum.expected(name)
        for (key, value) in CSVSpectrum.errata[name] ?? [:] {
            #expect(expected[0][key] != nil)
            expected[0][key] = value
        }
        let lenient = CSVSpectrum.strayQuoteCases.contains(name)
        if lenient {
            let error = expectFeedError(.unexpectedQuote) { () throws(FeedError) in try readCSV(input, chunkSize: chunkSize) }
            #expect(error?.line == 2)
        }
        let records = try readCSV(input, chunkSize: chunkSize, options: CSVOptions(allowsQuotesInUnquotedFields: lenient))
        let header = try #require(records.first).strings
        let objects = records.dropFirst().map { record in
            Dictionary(uniqueKeysWithValues: zip(header, record.strings))
        }
        #expect(objects == expected)
        #expect(records.dropFirst().allSatisfy { $0.count == header.count })
    }
}
