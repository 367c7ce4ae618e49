/// Everything `synwave daemon` can be told, with the built-in defaults it runs with when given
/// no file. Keys are documented in `tools/synwave.conf`; `DaemonConfigParser` fills this in.
public struct DaemonConfig: Equatable, Sendable {
    public var logDirectory = "/var/log/synwave"
    /// Relative paths are under `logDirectory`.
    public var eventLog = "events.log"
    public var metricsLog = "metrics.log"
    public var metricsFile = "synwave.prom"
    public var metricsIntervalNs: UInt64 = 10_000_000_000
    /// Where `/metrics` is served over HTTP; nil: not served.
    public var metricsListen: ListenAddress? = .loopbackDefault
    public var runDirectory = "/run/synwave"
    /// Relative paths are under `runDirectory`.
    public var pidFile = "synwave.pid"
    public var tailSocket = "tail.sock"
    /// A group whose members may tail (socket mode 0660); nil: root only (0600).
    public var tailGroup: String?
    /// Bytes queued per tail client before its events are skipped (with a counted notice).
    public var tailClientBuffer: UInt64 = 4 << 20
    /// Tail clients served at once; one more is answered with an ERROR line and closed (counted).
    public var tailClientsMax = 64
    public var attach = "auto"
    public var ringBufferBytes: UInt64 = 16 << 20
    public var pollIntervalMs: Int32 = 10
    public var maxSockets = 262_144
    public var idleTimeoutNs: UInt64 = 6 * 3_600_000_000_000
    /// Open sockets without an event this long are looked up in the kernel's socket table
    /// (sock_diag): those it no longer has get their record, marked `close_lost`.
    public var closeCheckAfterNs: UInt64 = 30_000_000_000
    public var listenerIntervalNs: UInt64 = 1_000_000_000
    /// Namespaces whose listeners are polled besides the daemon's own (names or paths).
    public var listenerNetns: [String] = []
    /// Every namespace found under /run/netns and /proc/*/ns/net, as they come and go: on a
    /// container host each container has its own.
    public var listenerAllNetns = true
    /// Listeners with per-listener metric series, the busiest first: 8 series each, so 10,000
    /// listeners would write 10 MB per export. `synwave listeners` shows them all.
    public var listenerMetricsMax = 100
    /// Workloads with their own per-workload series (docs/workloads.md); later ones count as "other".
    public var workloadMetricsMax = 100
    /// Connections traced only in these namespaces (names, paths or inodes); empty: all.
    public var onlyNetns: [String] = []
    /// Bytes of log lines kept in memory while a log cannot be written; past it the oldest are dropped (counted).
    public var logBufferLimit: UInt64 = 64 << 20
    /// The event and metrics logs are rotated past this size, `logKeep` old files kept: with the
    /// defaults each log takes at most 5 × 128 MiB (plus one flush), whatever the traffic.
    public var logMaxSize: UInt64 = 128 << 20
    public var logKeep = 4
    /// Connections assembled in the kernel ("kernel", where it can) or from every event ("user").
    public var assemble = "kernel"
    /// Which connection records the event log gets (metrics count them all).
    public var eventLogPolicy = EventLogPolicy()

    public init() {}

    public var eventLogPath: String { Self.resolve(eventLog, under: logDirectory) }
    public var metricsLogPath: String { Self.resolve(metricsLog, under: logDirectory) }
    public var metricsFilePath: String { Self.resolve(metricsFile, under: logDirectory) }
    public var pidFilePath: String { Self.resolve(pidFile, under: runDirectory) }
    public var tailSocketPath: String { Self.resolve(tailSocket, under: runDirectory) }

    /// The effective settings as a configuration file (`synwave daemon --check`).
    public var text: String {
        func duration(_ nanos: UInt64) -> String {
            if nanos % 1_000_000_000 == 0 { return "\(nanos / 1_000_000_000)s" }
            return "\(nanos / 1_000_000)ms"
        }
        func size(_ bytes: UInt64) -> String {
            if bytes % (1 << 20) == 0 { return "\(bytes >> 20)M" }
            return "\(bytes >> 10)K"
        }
        let lines: [(String, String)] = [
            ("log_dir", logDirectory), ("event_log", eventLog), ("metrics_log", metricsLog), ("metrics_file", metricsFile),
            ("metrics_interval", duration(metricsIntervalNs)), ("metrics_listen", metricsListen?.description ?? "off"),
            ("run_dir", runDirectory), ("pidfile", pidFile),
            ("tail_socket", tailSocket), ("tail_group", tailGroup ?? ""), ("tail_client_buffer", size(tailClientBuffer)),
            ("tail_clients_max", "\(tailClientsMax)"),
            ("attach", attach), ("ring_size", size(ringBufferBytes)), ("poll_interval", "\(pollIntervalMs)ms"),
            ("max_sockets", "\(maxSockets)"), ("idle_timeout", duration(idleTimeoutNs)),
            ("close_check_after", duration(closeCheckAfterNs)),
            ("listener_interval", duration(listenerIntervalNs)), ("listener_netns", listenerNetns.joined(separator: ",")),
            ("listener_all_netns", "\(listenerAllNetns)"), ("listener_metrics_max", "\(listenerMetricsMax)"),
            ("workload_metrics_max", "\(workloadMetricsMax)"),
            ("only_netns", onlyNetns.joined(separator: ",")), ("log_buffer_limit", size(logBufferLimit)),
            ("log_max_size", size(logMaxSize)), ("log_keep", "\(logKeep)"),
            ("assemble", assemble), ("event_log_records", eventLogPolicy.records.rawValue),
            ("event_log_sample", "\(eventLogPolicy.sampleOneIn)"),
            ("slow_handshake", duration(eventLogPolicy.slowHandshakeMicros * 1000)),
        ]
        return lines.map { "\($0.0) = \($0.1)\n" }.joined()
    }

    static func resolve(_ path: String, under directory: String) -> String {
        path.hasPrefix("/") ? path : (directory.hasSuffix("/") ? directory + path : directory + "/" + path)
    }
}

/// A refused setting: where it came from and which key, so one line tells the user what to fix.
public struct DaemonConfigError: Error, Equatable, CustomStringConvertible {
    /// "config /etc/synwave/synwave.conf line 4" or "--set".
    public var origin: String
    public var key: String?
    public var problem: String

    public var description: String {
        if let key { return "\(origin): \(key): \(problem)" }
        return "\(origin): \(problem)"
    }
}

/// Reads `key = value` lines (`#` starts a comment, values may be double-quoted, lists are
/// comma-separated) and checks every value, refusing the first bad one with its key named.
public enum DaemonConfigParser {
    public static let keys: [String] = [
        "log_dir", "event_log", "metrics_log", "metrics_file", "metrics_interval", "metrics_listen", "run_dir", "pidfile",
        "tail_socket", "tail_group", "tail_client_buffer", "tail_clients_max", "attach", "ring_size", "poll_interval",
        "max_sockets", "idle_timeout", "close_check_after", "listener_interval", "listener_netns", "listener_all_netns",
        "listener_metrics_max", "workload_metrics_max", "only_netns", "log_buffer_limit", "log_max_size", "log_keep",
        "assemble", "event_log_records", "event_log_sample", "slow_handshake",
    ]

    /// Applies a whole file's text on top of `config`.
    public static func apply(file text: String, path: String, to config: inout DaemonConfig) throws(DaemonConfigError) {
        var seen: Set<String> = []
        for (number, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let origin = "config \(path) line \(number + 1)"
            let line = stripComment(rawLine).trimmed
            if line.isEmpty { continue }
            guard let equals = line.firstIndex(of: "=") else {
                throw DaemonConfigError(origin: origin, key: nil, problem: "expected key = value, found '\(line)'")
            }
            let key = String(line[..<equals]).trimmed
            if seen.contains(key) {
                throw DaemonConfigError(origin: origin, key: key, problem: "set twice")
            }
            seen.insert(key)
            try apply(key: key, value: String(line[line.index(after: equals)...]), origin: origin, to: &config)
        }
    }

    /// Applies one `key=value` from the command line (`--set`).
    public static func apply(assignment: String, to config: inout DaemonConfig) throws(DaemonConfigError) {
        guard let equals = assignment.firstIndex(of: "=") else {
            throw DaemonConfigError(origin: "--set", key: nil, problem: "expected key=value, found '\(assignment)'")
        }
        try apply(key: String(assignment[..<equals]).trimmed, value: String(assignment[assignment.index(after: equals)...]),
                  origin: "--set", to: &config)
    }

    public static func apply(key: String, value rawValue: String, origin: String,
                             to config: inout DaemonConfig) throws(DaemonConfigError) {
        let value = unquote(rawValue.trimmed)
        func refuse(_ problem: String) -> DaemonConfigError {
            DaemonConfigError(origin: origin, key: key, problem: problem)
        }
        func path() throws(DaemonConfigError) -> String {
            guard !value.isEmpty else { throw refuse("needs a path") }
            guard !value.contains("\0") else { throw refuse("'\(value)' is not a path") }
            return value
        }
        func absolutePath() throws(DaemonConfigError) -> String {
            let text = try path()
            guard text.hasPrefix("/") else { throw refuse("'\(value)' must be an absolute path") }
            return text
        }
        func duration(_ range: ClosedRange<UInt64>, _ rangeText: String) throws(DaemonConfigError) -> UInt64 {
            guard let nanos = DurationText.parseNanoseconds(value), range.contains(nanos) else {
                throw refuse("'\(value)' is not a duration from \(rangeText) (like 500ms, 10s, 2m)")
            }
            return nanos
        }
        func size(_ range: ClosedRange<UInt64>, _ rangeText: String) throws(DaemonConfigError) -> UInt64 {
            guard let bytes = ByteSize.parse(value), range.contains(bytes) else {
                throw refuse("'\(value)' is not a size from \(rangeText) (like 4M)")
            }
            return bytes
        }
        func list() -> [String] {
            value.split(separator: ",").map { unquote(String($0).trimmed) }.filter { !$0.isEmpty }
        }

        switch key {
        case "log_dir": config.logDirectory = try absolutePath()
        case "event_log": config.eventLog = try path()
        case "metrics_log": config.metricsLog = try path()
        case "metrics_file": config.metricsFile = try path()
        case "metrics_interval": config.metricsIntervalNs = try duration(1_000_000_000...3_600_000_000_000, "1s to 1h")
        case "metrics_listen":
            if value == "off" {
                config.metricsListen = nil
            } else {
                guard let address = ListenAddress(parsing: value) else {
                    throw refuse("'\(value)' is not off or an IP address and port (like 127.0.0.1:\(ListenAddress.defaultPort) or [::1]:\(ListenAddress.defaultPort))")
                }
                config.metricsListen = address
            }
        case "run_dir": config.runDirectory = try absolutePath()
        case "pidfile": config.pidFile = try path()
        case "tail_socket":
            let socketPath = try path()
            // sun_path holds 107 bytes and a terminating zero.
            guard DaemonConfig.resolve(socketPath, under: config.runDirectory).utf8.count < 108 else {
                throw refuse("'\(socketPath)' is too long for a Unix socket path (107 bytes at most)")
            }
            config.tailSocket = socketPath
        case "tail_group":
            guard value.isEmpty || value.allSatisfy({ $0.isLetter || $0.isNumber || "_-.".contains($0) }) else {
                throw refuse("'\(value)' is not a group name")
            }
            config.tailGroup = value.isEmpty ? nil : value
        case "tail_client_buffer": config.tailClientBuffer = try size(64 << 10...1 << 30, "64K to 1G")
        case "tail_clients_max":
            guard let count = Int(value), (1...1024).contains(count) else { throw refuse("'\(value)' is not a count from 1 to 1024") }
            config.tailClientsMax = count
        case "attach":
            guard ["auto", "btf", "tracepoint"].contains(value) else {
                throw refuse("'\(value)' is not one of auto, btf, tracepoint")
            }
            config.attach = value
        case "ring_size":
            guard let bytes = ByteSize.parse(value), bytes >= 64 << 10, bytes <= 1 << 30, bytes & (bytes - 1) == 0 else {
                throw refuse("'\(value)' is not a power of two from 64K to 1G")
            }
            config.ringBufferBytes = bytes
        case "poll_interval":
            config.pollIntervalMs = Int32(try duration(1_000_000...10_000_000, "1ms to 10ms") / 1_000_000)
        case "max_sockets":
            guard let count = Int(value), count >= 16, count <= 16_777_216 else {
                throw refuse("'\(value)' is not a count from 16 to 16777216")
            }
            config.maxSockets = count
        case "idle_timeout": config.idleTimeoutNs = try duration(1_000_000_000...30 * 86_400_000_000_000, "1s to 30 days")
        case "close_check_after": config.closeCheckAfterNs = try duration(1_000_000_000...3_600_000_000_000, "1s to 1h")
        case "listener_interval": config.listenerIntervalNs = try duration(100_000_000...3_600_000_000_000, "100ms to 1h")
        case "listener_netns": config.listenerNetns = list()
        case "listener_all_netns":
            guard let flag = Bool(value) else { throw refuse("'\(value)' is not true or false") }
            config.listenerAllNetns = flag
        case "listener_metrics_max":
            guard let count = Int(value), (0...100_000).contains(count) else { throw refuse("'\(value)' is not a count from 0 to 100000") }
            config.listenerMetricsMax = count
        case "workload_metrics_max":
            guard let count = Int(value), (0...100_000).contains(count) else { throw refuse("'\(value)' is not a count from 0 to 100000") }
            config.workloadMetricsMax = count
        case "only_netns":
            let namespaces = list()
            // The kernel's counted_netns map holds 256.
            guard namespaces.count <= 256 else { throw refuse("at most 256 namespaces") }
            config.onlyNetns = namespaces
        case "log_buffer_limit": config.logBufferLimit = try size(1 << 20...4 << 30, "1M to 4G")
        case "log_max_size": config.logMaxSize = try size(64 << 10...1 << 40, "64K to 1T")
        case "log_keep":
            guard let count = Int(value), (0...1000).contains(count) else { throw refuse("'\(value)' is not a count from 0 to 1000") }
            config.logKeep = count
        case "assemble":
            guard ["kernel", "user"].contains(value) else { throw refuse("'\(value)' is not one of kernel, user") }
            config.assemble = value
        case "event_log_records":
            guard let records = EventLogPolicy.Records(rawValue: value) else {
                throw refuse("'\(value)' is not one of notable, all")
            }
            config.eventLogPolicy.records = records
        case "event_log_sample":
            guard let count = Int(value), (0...1_000_000).contains(count) else {
                throw refuse("'\(value)' is not a count from 0 (no clean connections) to 1000000")
            }
            config.eventLogPolicy.sampleOneIn = count
        case "slow_handshake":
            config.eventLogPolicy.slowHandshakeMicros = try duration(1_000_000...600_000_000_000, "1ms to 10m") / 1000
        default:
            throw DaemonConfigError(origin: origin, key: key,
                                    problem: "unknown key (known: \(keys.joined(separator: ", ")))")
        }
    }

    /// A `#` outside double quotes starts a comment.
    static func stripComment(_ line: Substring) -> Substring {
        var quoted = false
        for index in line.indices {
            switch line[index] {
            case "\"": quoted.toggle()
            case "#" where !quoted: return line[..<index]
            default: break
            }
        }
        return line
    }

    static func unquote(_ text: String) -> String {
        guard text.count >= 2, text.hasPrefix("\""), text.hasSuffix("\"") else { return text }
        return String(text.dropFirst().dropLast())
    }
}

extension StringProtocol {
    var trimmed: String {
        String(drop(while: { $0 == " " || $0 == "\t" || $0 == "\r" }).reversed()
            .drop(while: { $0 == " " || $0 == "\t" || $0 == "\r" }).reversed())
    }
}
