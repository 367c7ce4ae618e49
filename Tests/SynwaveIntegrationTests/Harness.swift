import Foundation

/// Where the built executables are and whether this run may load BPF.
enum Harness {
    static var isRoot: Bool { geteuid() == 0 }

    /// `.ci/run` sets this so that a run without root fails instead of skipping.
    static var integrationRequired: Bool {
        ProcessInfo.processInfo.environment["SYNWAVE_REQUIRE_INTEGRATION"] == "1"
    }

    /// The products folder: beside the test bundle, which `swift test` builds into it.
    static let binDirectory: URL = {
        if let dir = ProcessInfo.processInfo.environment["SYNWAVE_BIN_DIR"] {
            return URL(fileURLWithPath: dir)
        }
        var url = Bundle.main.bundleURL
        while url.path != "/" {
            if FileManager.default.isExecutableFile(atPath: url.appendingPathComponent("synwave").path) { return url }
            url.deleteLastPathComponent()
        }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../.build/debug").standardized
    }()

    static var synwave: String { binDirectory.appendingPathComponent("synwave").path }
    static var loadgen: String { binDirectory.appendingPathComponent("synwave-loadgen").path }
}

struct CommandResult {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// Collects a pipe's bytes on a background reader so the child never blocks on a full pipe.
final class PipeCollector: @unchecked Sendable {
    let pipe = Pipe()
    private let lock = NSLock()
    private var data = Data()

    init() {
        pipe.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let chunk = handle.availableData
            self?.append(chunk)
        }
    }

    private func append(_ chunk: Data) {
        lock.lock()
        data.append(chunk)
        lock.unlock()
    }

    var text: String {
        lock.lock()
        defer { lock.unlock() }
        return String(decoding: data, as: UTF8.self)
    }

    func finish() {
        pipe.fileHandleForReading.readabilityHandler = nil
        append(pipe.fileHandleForReading.readDataToEndOfFile())
    }
}

/// A running child process with its output collected.
final class Child {
    let process = Process()
    let out = PipeCollector()
    let err = PipeCollector()

    init(_ executable: String, _ arguments: [String]) throws {
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = out.pipe
        process.standardError = err.pipe
        try process.run()
    }

    /// Waits until `condition` holds for stderr, the child exits, or `seconds` pass.
    func waitForStderr(seconds: Double, _ condition: (String) -> Bool) -> Bool {
        wait(for: err, seconds: seconds, condition)
    }

    /// The same for stdout.
    func waitForStdout(seconds: Double, _ condition: (String) -> Bool) -> Bool {
        wait(for: out, seconds: seconds, condition)
    }

    private func wait(for output: PipeCollector, seconds: Double, _ condition: (String) -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition(output.text) { return true }
            if !process.isRunning { return condition(output.text) }
            usleep(20_000)
        }
        return false
    }

    /// SIGINT (as Ctrl-C), then waits at most `seconds` before killing.
    func interrupt(seconds: Double = 10) -> CommandResult {
        if process.isRunning { kill(process.processIdentifier, SIGINT) }
        return finish(seconds: seconds)
    }

    func finish(seconds: Double = 30) -> CommandResult {
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning, Date() < deadline { usleep(10_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        out.finish()
        err.finish()
        return CommandResult(status: process.terminationStatus, stdout: out.text, stderr: err.text)
    }
}

func run(_ executable: String, _ arguments: [String], seconds: Double = 60) throws -> CommandResult {
    try Child(executable, arguments).finish(seconds: seconds)
}

/// A network namespace made for one test and deleted with it.
final class NetworkNamespace {
    let name: String
    let inode: UInt32

    init(_ label: String) throws {
        name = "synwave-test-\(getpid())-\(label)"
        _ = try? run("/usr/sbin/ip", ["netns", "del", name])
        let added = try run("/usr/sbin/ip", ["netns", "add", name])
        guard added.status == 0 else { throw HarnessError("ip netns add \(name): \(added.stderr)") }
        _ = try run("/usr/sbin/ip", ["-n", name, "link", "set", "lo", "up"])
        let attributes = try FileManager.default.attributesOfItem(atPath: "/run/netns/\(name)")
        inode = UInt32((attributes[.systemFileNumber] as? NSNumber)?.uint64Value ?? 0)
    }

    deinit { _ = try? run("/usr/sbin/ip", ["netns", "del", name]) }

    /// `count` loopback connections to `port`, held open `hold` seconds: a listener that never
    /// accepts (they wait in its accept queue) and a burst of clients, both still running.
    func heldConnections(port: Int, count: Int, hold: Double) throws -> (server: Child, clients: Child) {
        let server = try Child("/usr/sbin/ip", ["netns", "exec", name, Harness.loadgen, "listen", "--port", "\(port)",
                                                "--backlog", "\(count + 4)", "--seconds", "\(hold + 5)"])
        usleep(300_000)
        let clients = try Child("/usr/sbin/ip", ["netns", "exec", name, Harness.loadgen, "burst", "--addr", "127.0.0.1",
                                                 "--port", "\(port)", "--count", "\(count)", "--spacing-ms", "1", "--hold-seconds", "\(hold)"])
        return (server, clients)
    }

    /// Runs synwave-loadgen inside the namespace; returns its JSON answer.
    func loadgen(_ arguments: [String]) throws -> (pid: Int32, answer: [String: Any]) {
        let child = try Child("/usr/sbin/ip", ["netns", "exec", name, Harness.loadgen] + arguments)
        let pid = child.process.processIdentifier  // ip execs loadgen: same pid
        let result = child.finish()
        guard result.status == 0,
              let answer = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        else { throw HarnessError("loadgen \(arguments) failed (\(result.status)): \(result.stderr)") }
        return (pid, answer)
    }
}

struct HarnessError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// `synwave tail --json` running until stopped, with its output parsed: every kernel event
/// (`--events`, the default here) or connection records.
final class Tail {
    let child: Child

    init(_ arguments: [String], events: Bool = true) throws {
        child = try Child(Harness.synwave, ["tail", "--json"] + (events ? ["--events"] : []) + arguments)
        guard child.waitForStderr(seconds: 20, { $0.contains("tracing TCP") }) else {
            let result = child.interrupt()
            throw HarnessError("synwave tail did not start (\(result.status)): \(result.stderr)")
        }
    }

    /// `events` holds the state changes only; `objects` every line.
    func stop() throws -> (events: [[String: Any]], objects: [[String: Any]], result: CommandResult) {
        let result = child.interrupt()
        let objects = try result.stdout.split(separator: "\n").map { line in
            guard let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                throw HarnessError("not a JSON object: \(line)")
            }
            return object
        }
        return (objects.filter { $0["type"] as? String == "state" }, objects, result)
    }
}

/// Events grouped per socket (by cookie), each group in arrival order.
func socketsOf(_ events: [[String: Any]]) -> [[[String: Any]]] {
    var order: [Int] = []
    var groups: [Int: [[String: Any]]] = [:]
    for event in events {
        let cookie = (event["cookie"] as? NSNumber)?.intValue ?? 0
        if groups[cookie] == nil { order.append(cookie) }
        groups[cookie, default: []].append(event)
    }
    return order.map { groups[$0]! }
}

func transitions(_ socket: [[String: Any]]) -> [String] {
    socket.map { "\($0["old"] as? String ?? "?")->\($0["new"] as? String ?? "?")" }
}

func int(_ value: Any?) -> Int { (value as? NSNumber)?.intValue ?? -1 }
