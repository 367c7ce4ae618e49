// The correlator on synthetic events, one core, release build: events per second, and heap
// bytes per tracked socket. Run with `swift run -c release synwave-correlator-bench`.
#if canImport(Glibc)
import Glibc
#endif
import SynwaveCore
import SynwavePrometheus

/// The ten transitions and two destroys of a loopback connection with a FIN close, for
/// `open` connections in flight at once so the table holds many sockets.
func syntheticEvents(connections: Int, open: Int) -> [KernelEvent] {
    let local = IPAddress(parsing: "10.0.0.1")!, remote = IPAddress(parsing: "10.0.0.2")!
    var events: [KernelEvent] = []
    events.reserveCapacity(connections * 12)
    let client: [(TCPState, TCPState)] = [(.close, .synSent), (.synSent, .established), (.established, .finWait1),
                                          (.finWait1, .finWait2), (.finWait2, .close)]
    let server: [(TCPState, TCPState)] = [(.listen, .synRecv), (.synRecv, .established), (.established, .closeWait),
                                          (.closeWait, .lastAck), (.lastAck, .close)]
    var ts: UInt64 = 1_000_000
    func state(_ cookie: UInt64, _ t: (TCPState, TCPState), port: UInt16, peer: UInt16) -> KernelEvent {
        ts += 1_000
        return .state(StateEvent(timestampNs: ts, socket: SocketIdentity(kind: .cookie, value: cookie), netns: 1,
                                 tgid: 10, tid: 10, comm: "bench", family: 2, oldState: t.0, newState: t.1,
                                 sourceAddress: local, sourcePort: port, destinationAddress: remote, destinationPort: peer,
                                 totals: t.1 == .close ? TCPTotals(bytesAcked: 1, bytesReceived: 1, segsOut: 1, segsIn: 1,
                                                                   totalRetrans: 0, srttMicros: 1, mssCache: 1) : nil))
    }
    // Connections start in waves of `open`; each wave goes step by step, so `open` sockets are live.
    for wave in stride(from: 0, to: connections, by: open) {
        let ids = wave..<min(connections, wave + open)
        for step in 0..<5 {
            for id in ids {
                let port = UInt16(1024 + id % 60000)
                events.append(state(UInt64(id * 2 + 1), client[step], port: port, peer: 80))
                events.append(state(UInt64(id * 2 + 2), server[step], port: 80, peer: port))
            }
        }
        for id in ids {
            for cookie in [UInt64(id * 2 + 1), UInt64(id * 2 + 2)] {
                ts += 1_000
                events.append(.socket(SocketEvent(timestampNs: ts, socket: SocketIdentity(kind: .cookie, value: cookie),
                                                  netns: 1, kind: .destroy, state: .close)))
            }
        }
    }
    return events
}

/// Resident bytes (from /proc/self/statm): coarse, but 200,000 sockets make pages negligible.
func heapInUse() -> Int {
    guard let file = fopen("/proc/self/statm", "r") else { return 0 }
    defer { fclose(file) }
    var size = 0, resident = 0
    withUnsafeMutablePointer(to: &size) { s in
        withUnsafeMutablePointer(to: &resident) { r in
            _ = withVaList([s, r]) { vfscanf(file, "%ld %ld", $0) }
        }
    }
    return resident * Int(sysconf(Int32(_SC_PAGESIZE)))
}

func now() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_MONOTONIC, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
}

// `report-logs DIR HOURS RATE`: only write synthetic daemon logs for timing `synwave report`.
if CommandLine.arguments.count == 5, CommandLine.arguments[1] == "report-logs",
   let hours = Double(CommandLine.arguments[3]), let rate = Int(CommandLine.arguments[4]) {
    do { try writeReportLogs(directory: CommandLine.arguments[2], hours: hours, rate: rate, listeners: 20) } catch {
        print("report-logs: \(error)")
        exit(1)
    }
    exit(0)
}

let events = syntheticEvents(connections: 500_000, open: 1_000)
var best = 0.0
var recordsOut = 0
var sample: [ConnectionRecord] = []
for _ in 0..<3 {
    var correlator = Correlator()
    var records: [ConnectionRecord] = []
    records.reserveCapacity(4096)
    let start = now()
    for (i, event) in events.enumerated() {
        correlator.process(event, into: &records)
        if i & 4095 == 0 {
            // As the reader does after each ring buffer batch: let grace periods end.
            correlator.tick(nowNs: event.timestampNs, into: &records)
            recordsOut += records.count
            if sample.count < 100_000 { sample += records }
            records.removeAll(keepingCapacity: true)
        }
    }
    let elapsed = now() - start
    best = max(best, Double(events.count) / elapsed)
}

// The event log's JSON line per record (the daemon writes one per connection end).
var formatter = StateEventFormatter(bootToWallOffsetNs: 1_700_000_000_000_000_000, useUTC: true)
var out: [UInt8] = []
out.reserveCapacity(1 << 20)
var bestJSON = 0.0
var jsonBytes = 0
// Best of ten: one round is short, and this VM's timing is noisy.
for _ in 0..<10 {
    jsonBytes = 0
    let start = now()
    for record in sample {
        formatter.json(record, into: &out)
        out.append(UInt8(ascii: "\n"))
        if out.count > 900_000 {
            jsonBytes += out.count
            out.removeAll(keepingCapacity: true)
        }
    }
    jsonBytes += out.count
    out.removeAll(keepingCapacity: true)
    bestJSON = max(bestJSON, Double(sample.count) / (now() - start))
}

// Memory: 200,000 sockets left open (handshake done), measured as resident memory growth.
let openSockets = 200_000
let opening = syntheticEvents(connections: openSockets / 2, open: openSockets / 2).prefix(openSockets * 2)
let before = heapInUse()
var table = Correlator(options: CorrelatorOptions(capacity: openSockets * 2))
var sink: [ConnectionRecord] = []
for event in opening { table.process(event, into: &sink) }
let bytesPerSocket = Double(heapInUse() - before) / Double(table.tracked)
// One metrics export through swift-prometheus (what synwave.prom and each /metrics scrape cost):
// the daemon's families with 100 listener series, first with nothing new since the last export,
// then with each histogram gaining what 10 s at 120,000 records/s bring (replayed one by one).
var exported = DaemonMetrics()
exported.listeners = ListenerReport(rows: (0..<100).map { index in
    ListenerRow(cookie: UInt64(index), listener: ListenerAddress(netns: 1, address: IPAddress(parsing: "0.0.0.0")!,
                                                                 port: UInt16(1000 + index)),
                namespaceName: "host", maxAcceptQueue: 0, acceptOverflows: 0)
}, namespaces: [])
let mirror = PrometheusMirror()
var exportBytes = mirror.render(exported.families()).count
var steadyMicros = Double.infinity
for _ in 0..<20 {
    let start = now()
    exportBytes = mirror.render(exported.families()).count
    steadyMicros = min(steadyMicros, (now() - start) * 1e6)
}
let observationsPerExport = 1_200_000
var replayNs = Double.infinity
for round in 0..<3 {
    for i in 0..<observationsPerExport {
        exported.connections.handshake.observe(Double((i + round) % 5000) * 1e-5)
        exported.connections.duration.observe(Double(i % 700) * 1e-3)
    }
    let start = now()
    _ = mirror.render(exported.families())
    replayNs = min(replayNs, (now() - start) * 1e9 / Double(2 * observationsPerExport))
}

print("{\"events\":\(events.count),\"events_per_second\":\(Int(best)),"
    + "\"export_us\":\(Int(steadyMicros)),\"export_bytes\":\(exportBytes),"
    + "\"replay_ns_per_observation\":\((replayNs * 10).rounded() / 10),"
    + "\"json_records_per_second\":\(Int(bestJSON)),\"json_bytes_per_record\":\(jsonBytes / max(1, sample.count)),"
    + "\"tracked\":\(table.tracked),"
    + "\"bytes_per_socket\":\(Int(bytesPerSocket)),\"machine_stride\":\(MemoryLayout<SocketMachine>.stride)}")
