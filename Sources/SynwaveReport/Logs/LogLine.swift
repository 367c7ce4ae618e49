import Foundation

/// One line of the daemon's logs, sorted by its `type` (always the first field synwave writes).
public enum LogLine: Sendable {
    case connection(LoggedRecord)
    case metrics(LoggedMetrics)
    /// Listener overflow events: counted; their numbers come from the metrics log.
    case listener
    /// A valid JSON object of a type this version does not read.
    case otherType
    case garbage

    /// A clean connection's record (`"end":"closed"`), counted without decoding it: most of
    /// the event log is these, and Foundation's JSON decoding costs about 50 µs per record here.
    case cleanRecord(endUnixMs: Int64?, sampled: Bool)

    public init(_ bytes: Data, decoder: JSONDecoder, decodeClean: Bool = false) {
        if !decodeClean, bytes.starts(with: Self.connectionPrefix), bytes.last == UInt8(ascii: "}"),
           bytes.count > 600, bytes.suffix(Self.closedSuffix.count).elementsEqual(Self.closedSuffix) {
            self = .cleanRecord(endUnixMs: Self.time(in: bytes), sampled: bytes.starts(with: Self.sampledPrefix))
        } else if bytes.starts(with: Self.connectionPrefix) {
            self = LoggedRecord(json: bytes, decoder: decoder).map(LogLine.connection) ?? .garbage
        } else if bytes.starts(with: Self.metricsPrefix) {
            self = LoggedMetrics(json: bytes, decoder: decoder).map(LogLine.metrics) ?? .garbage
        } else if bytes.starts(with: Self.listenerPrefix) {
            self = (try? JSONSerialization.jsonObject(with: bytes)) is [String: Any] ? .listener : .garbage
        } else {
            self = (try? JSONSerialization.jsonObject(with: bytes)) is [String: Any] ? .otherType : .garbage
        }
    }

    public static func isMetrics(_ bytes: Data) -> Bool { bytes.starts(with: metricsPrefix) }

    /// When a line happened, read without decoding it: a record's `time`, a snapshot's `unix_ms`.
    /// Nil for other lines.
    public static func unixMilliseconds(of bytes: Data) -> Int64? {
        if bytes.starts(with: connectionPrefix) { return time(in: bytes) }
        guard bytes.starts(with: metricsPrefix) else { return nil }
        return bytes.withUnsafeBytes { raw -> Int64? in
            guard let start = ByteSearch.end(of: unixMsKey, in: raw, limit: 120) else { return nil }
            var value: Int64 = 0
            var index = start
            while index < raw.count, (48...57).contains(raw[index]), value < Int64.max / 10 {
                value = value * 10 + Int64(raw[index] - 48)
                index += 1
            }
            return index > start ? value : nil
        }
    }

    /// The `time` field, within the line's first bytes (it follows start_ns and end_ns).
    private static func time(in bytes: Data) -> Int64? {
        bytes.withUnsafeBytes { raw -> Int64? in
            guard let start = ByteSearch.end(of: timeKey, in: raw, limit: 160) else { return nil }
            let value = UnsafeRawBufferPointer(rebasing: raw[start..<min(raw.count, start + 40)])
            guard let close = value.firstIndex(of: UInt8(ascii: "\"")) else { return nil }
            return RFC3339.unixMilliseconds(String(decoding: value[..<close], as: UTF8.self))
        }
    }

    private static let connectionPrefix = Data(#"{"type":"connection""#.utf8)
    private static let sampledPrefix = Data(#"{"type":"connection","sampled":"#.utf8)
    private static let closedSuffix = Data(#","end":"closed"}"#.utf8)
    private static let timeKey = Array(#""time":""#.utf8)
    private static let unixMsKey = Array(#""unix_ms":"#.utf8)
    private static let metricsPrefix = Data(#"{"type":"metrics""#.utf8)
    private static let listenerPrefix = Data(#"{"type":"listener""#.utf8)
}

/// What reading the logs met besides good lines: said on the page and on stderr.
public struct LogReadCounts: Equatable, Sendable {
    public var files = 0
    public var missingLogs: [String] = []
    public var bytes: UInt64 = 0
    public var lines = 0
    public var records = 0
    public var sampledRecords = 0
    public var listenerEvents = 0
    public var metricsLines = 0
    public var otherTypes = 0
    /// Lines that are not JSON objects synwave wrote.
    public var garbage = 0
    /// A last line without its newline: a write cut short.
    public var torn = 0
    /// Good lines outside `--since`.
    public var outsideRange = 0

    public init() {}

    public var problems: [String] {
        var said: [String] = []
        if !missingLogs.isEmpty { said.append("missing: \(missingLogs.joined(separator: ", "))") }
        if garbage > 0 { said.append("\(garbage) garbage line\(garbage == 1 ? "" : "s") skipped") }
        if torn > 0 { said.append("\(torn) torn line\(torn == 1 ? "" : "s") (cut short) skipped") }
        if otherTypes > 0 { said.append("\(otherTypes) line\(otherTypes == 1 ? "" : "s") of unknown type skipped") }
        return said
    }
}
