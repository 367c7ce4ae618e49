import Foundation

/// Reads log lines (event log and metrics log, oldest file first) into what the page shows.
/// Streams: memory grows with the metrics intervals and listeners, not with the records.
public struct ReportBuilder {
    public private(set) var counts = LogReadCounts()
    public private(set) var metrics = MetricsTimeline()
    public private(set) var records = RecordSummary()
    public let sinceUnixMs: Int64?
    private let decoder = JSONDecoder()
    /// The last metrics line before `--since`, decoded only as the first in range's baseline.
    private var snapshotBeforeRange: Data?

    public init(sinceUnixMs: Int64?) {
        self.sinceUnixMs = sinceUnixMs
    }

    public mutating func startFile() { counts.files += 1 }

    public mutating func missing(_ path: String) { counts.missingLogs.append(path) }

    /// One line without its newline. `complete`: false for a last line the file cut short.
    public mutating func add(line: Data, complete: Bool = true) {
        guard let counted = count(line, complete: complete) else { return }
        fold(LogLine(counted, decoder: decoder))
    }

    /// Whole lines in file order, decoded on every CPU, then counted in order.
    public mutating func add(lines: [Data]) {
        let kept = lines.compactMap { count($0, complete: true) }
        var decoded = [LogLine?](repeating: nil, count: kept.count)
        let workers = max(1, min(ProcessInfo.processInfo.activeProcessorCount, kept.count / 64))
        decoded.withUnsafeMutableBufferPointer { out in
            let slots = UncheckedSendable(out)
            DispatchQueue.concurrentPerform(iterations: workers) { worker in
                let decoder = JSONDecoder()
                var index = worker
                while index < kept.count {
                    slots.value[index] = LogLine(kept[index], decoder: decoder)
                    index += workers
                }
            }
        }
        for line in decoded { fold(line!) }
    }

    /// Counts a line's bytes; nil for a blank one, a torn one (counted as such), or one before
    /// `--since` (counted, not decoded; the last snapshot before it is kept as the baseline).
    private mutating func count(_ line: Data, complete: Bool) -> Data? {
        counts.bytes += UInt64(line.count) + (complete ? 1 : 0)
        guard line.count > 8 || !line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) else { return nil }
        counts.lines += 1
        guard complete else {
            counts.torn += 1
            return nil
        }
        if let sinceUnixMs, let at = LogLine.unixMilliseconds(of: line), at < sinceUnixMs {
            counts.outsideRange += 1
            if LogLine.isMetrics(line) { snapshotBeforeRange = line }
            return nil
        }
        return line
    }

    private mutating func fold(_ line: LogLine) {
        switch line {
        case .connection(let logged):
            guard inRange(logged.endUnixMs) else { return }
            counts.records += 1
            if logged.sampledOneIn != nil { counts.sampledRecords += 1 }
            records.add(logged.record)
        case .cleanRecord(let endUnixMs, let sampled):
            guard inRange(endUnixMs ?? .max) else { return }
            counts.records += 1
            if sampled { counts.sampledRecords += 1 }
            records.byEnd[.closed, default: 0] += 1
        case .metrics(let m):
            if let before = snapshotBeforeRange {
                snapshotBeforeRange = nil
                if let baseline = LoggedMetrics(json: before, decoder: decoder) { metrics.add(baseline, inRange: false) }
            }
            let inRange = sinceUnixMs.map { m.unixMs >= $0 } ?? true
            if inRange { counts.metricsLines += 1 } else { counts.outsideRange += 1 }
            metrics.add(m, inRange: inRange)
        case .listener:
            counts.listenerEvents += 1
        case .otherType:
            counts.otherTypes += 1
        case .garbage:
            counts.garbage += 1
        }
    }

    private mutating func inRange(_ unixMs: Int64) -> Bool {
        guard let sinceUnixMs, unixMs < sinceUnixMs else { return true }
        counts.outsideRange += 1
        return false
    }
}

/// A buffer each worker writes at its own indices only.
private struct UncheckedSendable<T>: @unchecked Sendable {
    var value: T
    init(_ value: T) { self.value = value }
}
