import Foundation

/// A real `synwave daemon` child with its own temporary configuration, log and run directories.
final class DaemonUnderTest {
    let directory: String
    var logDirectory: String { directory + "/log" }
    var runDirectory: String { directory + "/run" }
    var configPath: String { directory + "/synwave.conf" }
    var eventLog: String { logDirectory + "/events.log" }
    var metricsLog: String { logDirectory + "/metrics.log" }
    var metricsFile: String { logDirectory + "/synwave.prom" }
    var tailSocket: String { runDirectory + "/tail.sock" }
    var pidFile: String { runDirectory + "/synwave.pid" }
    private(set) var child: Child

    /// `settings` are extra `key = value` lines; metrics every second unless they say otherwise.
    /// `prepare` runs on the fresh directory before the daemon starts.
    init(_ label: String, settings: [String] = [], prepare: (String) throws -> Void = { _ in }) throws {
        directory = Self.directory(for: label)
        try? FileManager.default.removeItem(atPath: directory)
        // World-traversable, so an unprivileged user meets the socket's own permissions.
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o755])
        try prepare(directory)
        // A setting given replaces the default of its key (a key may appear once).
        let given = Set(settings.map { $0.split(separator: "=")[0].trimmingCharacters(in: .whitespaces) })
        // Off unless a test serves it: daemons of tests running at once would want the same port.
        let defaults = [("log_dir", "\(directory)/log"), ("run_dir", "\(directory)/run"), ("metrics_interval", "1s"),
                        ("metrics_listen", "off")]
        let lines = defaults.filter { !given.contains($0.0) }.map { "\($0.0) = \($0.1)" } + settings
        try (lines.joined(separator: "\n") + "\n").write(toFile: directory + "/synwave.conf", atomically: true, encoding: .utf8)
        child = try Self.start(config: directory + "/synwave.conf")
    }

    static func directory(for label: String) -> String {
        NSTemporaryDirectory() + "synwave-daemon-\(getpid())-\(label)"
    }

    /// Lines in a file (0 when it does not exist), without parsing them.
    static func lineCount(_ path: String) -> Int {
        guard let data = try? Data(contentsOf: URL(fileURLWithPath: path)) else { return 0 }
        return data.withUnsafeBytes { raw in
            guard var cursor = raw.baseAddress else { return 0 }
            var count = 0
            var left = raw.count
            while left > 0, let found = memchr(cursor, 0x0A, left) {
                count += 1
                let next = UnsafeRawPointer(found) + 1
                left -= next - cursor
                cursor = next
            }
            return count
        }
    }

    private static func start(config: String) throws -> Child {
        let child = try Child(Harness.synwave, ["daemon", "--config", config])
        guard child.waitForStderr(seconds: 30, { $0.contains("daemon tracing TCP") }) else {
            let result = child.interrupt()
            throw HarnessError("synwave daemon did not start (\(result.status)): \(result.stderr)")
        }
        return child
    }

    /// Starts again with the same configuration (after the previous process ended).
    func restart() throws {
        child = try Self.start(config: configPath)
    }

    var pid: Int32 { child.process.processIdentifier }

    func signal(_ number: Int32) { kill(pid, number) }

    /// SIGTERM, then the exit status and output.
    func terminate(seconds: Double = 30) -> CommandResult {
        signal(SIGTERM)
        return child.finish(seconds: seconds)
    }

    func remove() {
        if child.process.isRunning { _ = child.interrupt() }
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Every line of a JSON-lines file, parsed; a line that is not a JSON object fails the parse.
    static func jsonLines(_ path: String) throws -> [[String: Any]] {
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        return try text.split(separator: "\n").map { line in
            guard let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                throw HarnessError("not a JSON object: \(line)")
            }
            return object
        }
    }

    /// Waits until the event log holds at least `count` connection records.
    @discardableResult
    func waitForRecords(_ count: Int, seconds: Double = 15) -> [[String: Any]] {
        let deadline = Date().addingTimeInterval(seconds)
        var records: [[String: Any]] = []
        repeat {
            records = ((try? Self.jsonLines(eventLog)) ?? []).filter { $0["type"] as? String == "connection" }
            if records.count >= count { break }
            usleep(100_000)
        } while Date() < deadline
        return records
    }
}

/// A Prometheus text-format file, parsed strictly: every sample line must follow its family's
/// TYPE (and HELP, where there is one), and name, labels and value must be well formed.
struct PrometheusFile {
    var samples: [String: Double] = [:]
    var types: [String: String] = [:]

    init(parsing text: String) throws {
        let sample = try NSRegularExpression(pattern: #"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*"(,[a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*")*)\})? (\S+)$"#)
        var family: String?
        for line in text.split(separator: "\n").map(String.init) {
            if line.hasPrefix("# HELP ") { family = line.split(separator: " ")[2].description; continue }
            if line.hasPrefix("# TYPE ") {
                let parts = line.split(separator: " ")
                // HELP is optional (swift-metrics' series have none); TYPE starts the family.
                if parts.count == 4, types[String(parts[2])] == nil { family = String(parts[2]) }
                guard parts.count == 4, parts[2].description == family,
                      ["counter", "gauge", "histogram", "summary", "untyped"].contains(parts[3]) else {
                    throw HarnessError("bad TYPE line: \(line)")
                }
                types[String(parts[2])] = String(parts[3])
                continue
            }
            let range = NSRange(line.startIndex..., in: line)
            guard let match = sample.firstMatch(in: line, range: range),
                  let nameRange = Range(match.range(at: 1), in: line),
                  let valueRange = Range(match.range(at: 7), in: line) else {
                throw HarnessError("not a Prometheus sample: \(line)")
            }
            let name = String(line[nameRange])
            guard let family, name == family || name.hasPrefix(family + "_") else {
                throw HarnessError("sample \(name) outside its family")
            }
            let valueText = String(line[valueRange])
            guard let value = Double(valueText) ?? (valueText == "+Inf" ? .infinity : nil) else {
                throw HarnessError("bad value: \(line)")
            }
            let key = String(line[..<valueRange.lowerBound].dropLast())
            guard samples[key] == nil else { throw HarnessError("duplicate sample \(key)") }
            samples[key] = value
        }
    }

    subscript(_ key: String) -> Double? { samples[key] }
}

/// The namespace's TCP MIB (what `nstat` reports), from /proc/net/snmp inside it.
func tcpCounters(in namespace: NetworkNamespace) throws -> [String: Int] {
    let result = try run("/usr/sbin/ip", ["netns", "exec", namespace.name, "cat", "/proc/net/snmp"])
    let lines = result.stdout.split(separator: "\n").filter { $0.hasPrefix("Tcp:") }
    guard lines.count == 2 else { throw HarnessError("no Tcp lines in /proc/net/snmp: \(result.stdout)") }
    let names = lines[0].split(separator: " ").dropFirst()
    let values = lines[1].split(separator: " ").dropFirst()
    return Dictionary(uniqueKeysWithValues: zip(names.map(String.init), values.map { Int($0) ?? -1 }))
}

/// A connected socket the tests write raw bytes to.
protocol RawClient: AnyObject {
    var fd: Int32 { get }
}

extension RawClient {
    func send(_ text: String) throws {
        let bytes = Array(text.utf8)
        guard write(fd, bytes, bytes.count) == bytes.count else { throw HarnessError("write: errno \(errno)") }
    }
}

/// A raw client of the daemon's tail socket, for what `synwave tail` never does (not reading).
final class UnixClient: RawClient {
    let fd: Int32

    init(path: String) throws {
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8)) }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard connected == 0 else { throw HarnessError("connect \(path): errno \(errno)") }
    }

    deinit { close(fd) }


    /// One line (without its newline), read a byte at a time so nothing after it is consumed;
    /// nil if it does not come within `seconds`.
    func readLine(seconds: Double) -> String? {
        var line = [UInt8]()
        var byte: UInt8 = 0
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 100) > 0 else { continue }
            guard read(fd, &byte, 1) == 1 else { return nil }
            if byte == 0x0A { return String(decoding: line, as: UTF8.self) }
            line.append(byte)
        }
        return nil
    }

    /// Everything that arrives until nothing has come for `seconds`.
    func readAll(seconds: Double) -> String {
        var data = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, Int32(seconds * 1000)) > 0 else { break }
            let n = read(fd, &chunk, chunk.count)
            if n <= 0 { break }
            data += chunk[0..<n]
        }
        return String(decoding: data, as: UTF8.self)
    }
}
