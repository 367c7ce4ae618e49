import Foundation
import SynwaveCore

/// A day (or `hours`) of the daemon's logs at `rate` connections/s, written as the daemon writes
/// them: the event log under the default policy (every failed connection, 1 in 100 clean ones),
/// rotated at 128 MiB; the metrics log every 10 s with `listeners` listener series. For timing
/// `synwave report` on what a real host leaves behind.
func writeReportLogs(directory: String, hours: Double, rate: Int, listeners: Int) throws {
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    let intervalSeconds = 10
    let steps = Int(hours * 3600) / intervalSeconds
    let perStep = rate * intervalSeconds
    // Ending now, so `--since` means what it says.
    let startUnixMs = Int64(Date().timeIntervalSince1970 * 1000) - Int64(hours * 3_600_000)
    let bootNs: UInt64 = 1_000_000_000_000
    // boot time + offset = wall time
    var formatter = StateEventFormatter(bootToWallOffsetNs: startUnixMs * 1_000_000 - Int64(bootNs), useUTC: true)
    var events = RotatingFile(path: directory + "/events.log", limit: 128 << 20)
    let metricsFile = FileHandle(forWritingAtPath: directory + "/metrics.log") ?? {
        FileManager.default.createFile(atPath: directory + "/metrics.log", contents: nil)
        return FileHandle(forWritingAtPath: directory + "/metrics.log")!
    }()
    var metrics = DaemonMetrics()
    var rows = (0..<listeners).map { index in
        ListenerRow(cookie: UInt64(index), listener: ListenerAddress(netns: 1, address: IPAddress(parsing: "0.0.0.0")!,
                                                                     port: UInt16(8000 + index)),
                    namespaceName: "host", maxAcceptQueue: 0, acceptOverflows: 0)
    }
    // 0.5% fail: how, and to whom.
    let failures: [(ConnectionEnd, Int)] = [(.refused, 40), (.resetReceived, 30), (.resetSent, 15), (.connectTimeout, 10), (.keepaliveTimeout, 5)]
    var random = SystemRandomNumberGenerator()
    var out: [UInt8] = []
    out.reserveCapacity(4 << 20)
    var cookie: UInt64 = 1
    var recordsWritten = 0
    for step in 0..<steps {
        let stepStartNs = bootNs + UInt64(step * intervalSeconds) * 1_000_000_000
        for n in 0..<perStep {
            cookie += 1
            let failed = n % 200 == 0
            var end = ConnectionEnd.closed
            if failed {
                var pick = Int.random(in: 0..<100, using: &random)
                for (candidate, weight) in failures {
                    if pick < weight { end = candidate; break }
                    pick -= weight
                }
            }
            let handshakeUs = UInt64.random(in: 40...4000, using: &random)
            let durationUs = handshakeUs + UInt64.random(in: 100...2_000_000, using: &random)
            metrics.connections.connectionsOpened[.client] += 1
            metrics.connections.connectionsEnded[end] += 1
            if end != .refused && end != .connectTimeout { metrics.connections.handshake.observe(Double(handshakeUs) / 1e6) }
            metrics.connections.duration.observe(Double(durationUs) / 1e6)
            if end == .connectTimeout { metrics.connections.retransmits.syn += 6 }
            guard failed || n % 100 == 1 else { continue }
            let startNs = stepStartNs + UInt64(n) * 1_000_000_000 / UInt64(perStep)
            let record = syntheticRecord(cookie: cookie, end: end, startNs: startNs, handshakeUs: handshakeUs,
                                         durationUs: durationUs, peer: Int.random(in: 0..<50, using: &random),
                                         service: Int.random(in: 0..<20, using: &random))
            formatter.json(record, sampledOneIn: failed ? nil : 100, into: &out)
            out.append(UInt8(ascii: "\n"))
            recordsWritten += 1
            if out.count > 3 << 20 { try events.write(out); out.removeAll(keepingCapacity: true) }
        }
        for index in rows.indices {
            rows[index].acceptQueue = UInt32.random(in: 0...(index == 0 && step % 360 < 6 ? 129 : 5), using: &random)
            rows[index].maxAcceptQueue = max(rows[index].maxAcceptQueue, rows[index].acceptQueue)
            rows[index].synQueue = UInt32.random(in: 0...3, using: &random)
            rows[index].backlog = 128
            if rows[index].acceptQueue > 128 { rows[index].acceptOverflows += 25 }
        }
        metrics.listeners = ListenerReport(rows: rows, namespaces: [])
        metrics.uptimeSeconds = Double((step + 1) * intervalSeconds)
        let unixMs = startUnixMs + Int64((step + 1) * intervalSeconds * 1000)
        var line = MetricText.jsonLine(metrics.families(), unixMs: UInt64(unixMs), time: "t")
        line.append(UInt8(ascii: "\n"))
        metricsFile.write(Data(line))
    }
    try events.write(out)
    try events.close()
    try metricsFile.close()
    print("{\"records\":\(recordsWritten),\"metrics_snapshots\":\(steps),\"event_log_files\":\(events.files)}")
}

private func syntheticRecord(cookie: UInt64, end: ConnectionEnd, startNs: UInt64, handshakeUs: UInt64, durationUs: UInt64,
                             peer: Int, service: Int) -> ConnectionRecord {
    let endpoints = Endpoints(localAddress: IPAddress(parsing: "10.1.0.5")!, localPort: UInt16(32768 + cookie % 28000),
                              remoteAddress: IPAddress(parsing: "10.2.\(peer / 250).\(peer % 250 + 1)")!,
                              remotePort: UInt16(5000 + service))
    var marks: [ConnectionRecord.StateMark] = [.init(state: .close, offsetMicros: 0), .init(state: .synSent, offsetMicros: 0)]
    var r = ConnectionRecord(socket: SocketIdentity(kind: .cookie, value: cookie), netns: 4026531840, role: .client,
                             pid: 4242, comm: "api-gateway", endpoints: endpoints, states: [], startNs: startNs,
                             endNs: startNs + durationUs * 1000, end: end)
    switch end {
    case .refused:
        marks.append(.init(state: .close, offsetMicros: 60))
        r.error = "ECONNREFUSED"
        r.resetsReceived = 1
        r.endNs = startNs + 60_000
    case .connectTimeout:
        marks.append(.init(state: .close, offsetMicros: 127_000_000))
        r.error = "ETIMEDOUT"
        r.retransmits.syn = 6
        r.endNs = startNs + 127_000_000_000
    default:
        marks.append(.init(state: .established, offsetMicros: handshakeUs))
        r.handshakeMicros = handshakeUs
        r.bytesSent = 1 + UInt64(cookie % 9000)
        r.bytesReceived = 1 + UInt64(cookie % 70000)
        switch end {
        case .closed:
            marks += [.init(state: .finWait1, offsetMicros: durationUs - 80), .init(state: .finWait2, offsetMicros: durationUs - 40),
                      .init(state: .close, offsetMicros: durationUs)]
            r.closedFirst = .local
            r.timeWait = true
        case .resetSent:
            marks.append(.init(state: .close, offsetMicros: durationUs))
            r.resetsSent = [.abortOnClose]
        case .keepaliveTimeout:
            marks.append(.init(state: .close, offsetMicros: durationUs))
            r.resetsSent = [.keepaliveTimeout]
            r.error = "ETIMEDOUT"
        default:
            marks.append(.init(state: .close, offsetMicros: durationUs))
            r.resetsReceived = 1
            r.error = "ECONNRESET"
        }
    }
    r.states = marks
    return r
}

/// Appends; past `limit` bytes, shifts `path` to `path.1` (and older ones up), as the daemon rotates.
private struct RotatingFile {
    let path: String
    let limit: Int
    var handle: FileHandle?
    var size = 0
    var files = 1

    init(path: String, limit: Int) {
        self.path = path
        self.limit = limit
    }

    mutating func write(_ bytes: [UInt8]) throws {
        if handle == nil {
            FileManager.default.createFile(atPath: path, contents: nil)
            handle = FileHandle(forWritingAtPath: path)
        }
        if size > 0, size + bytes.count > limit {
            try handle?.close()
            for index in stride(from: files - 1, through: 1, by: -1) {
                try FileManager.default.moveItem(atPath: "\(path).\(index)", toPath: "\(path).\(index + 1)")
            }
            try FileManager.default.moveItem(atPath: path, toPath: "\(path).1")
            FileManager.default.createFile(atPath: path, contents: nil)
            handle = FileHandle(forWritingAtPath: path)
            size = 0
            files += 1
        }
        handle?.write(Data(bytes))
        size += bytes.count
    }

    mutating func close() throws { try handle?.close() }
}
