import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `127.0.0.1:port` handed to a socket call (bind, connect, getsockname), which may fill it in.
@discardableResult
func withLoopback(port: Int, _ call: (UnsafeMutablePointer<sockaddr>, inout socklen_t) -> Int32) -> (result: Int32, port: Int) {
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = UInt16(port).bigEndian
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let result = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { call($0, &length) } }
    return (result, Int(UInt16(bigEndian: address.sin_port)))
}

/// A free loopback TCP port: bound to port 0, read back, released.
func freeLoopbackPort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    let (bound, port) = withLoopback(port: 0) { address, length in
        bind(fd, address, length) == 0 ? getsockname(fd, address, &length) : -1
    }
    guard bound == 0 else { throw HarnessError("no free loopback port: errno \(errno)") }
    return port
}

/// Polls `url` until it answers 200, while `child` runs, for at most `seconds`.
func waitUntilServing(_ url: String, child: Child, what: String, seconds: Double) throws {
    let deadline = Date().addingTimeInterval(seconds)
    while (try? httpGet(url).status) != 200 {
        guard Date() < deadline, child.process.isRunning else {
            let result = child.interrupt()
            throw HarnessError("\(what) did not start (\(result.status)): \(result.stderr)")
        }
        usleep(200_000)
    }
}

/// A raw loopback TCP client with a small receive buffer, for scrapers that misbehave.
final class RawTCPClient: RawClient {
    let fd: Int32

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var small: Int32 = 4096
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, socklen_t(MemoryLayout<Int32>.size))
        guard withLoopback(port: port, { connect(fd, $0, $1) }).result == 0 else { throw HarnessError("connect 127.0.0.1:\(port): errno \(errno)") }
    }

    deinit { close(fd) }
}

/// One HTTP GET, waited for: status, headers and body.
func httpGet(_ url: String, seconds: Double = 5) throws -> (status: Int, headers: [String: String], body: String) {
    let done = DispatchSemaphore(value: 0)
    nonisolated(unsafe) var outcome: Result<(Int, [String: String], String), Error> = .failure(HarnessError("GET \(url) timed out"))
    var request = URLRequest(url: URL(string: url)!)
    request.timeoutInterval = seconds
    URLSession.shared.dataTask(with: request) { data, response, error in
        if let error {
            outcome = .failure(error)
        } else if let response = response as? HTTPURLResponse {
            var headers: [String: String] = [:]
            for (key, value) in response.allHeaderFields { headers["\(key)".lowercased()] = "\(value)" }
            outcome = .success((response.statusCode, headers, String(decoding: data ?? Data(), as: UTF8.self)))
        }
        done.signal()
    }.resume()
    _ = done.wait(timeout: .now() + seconds + 1)
    let (status, headers, body) = try outcome.get()
    return (status, headers, body)
}

/// Debian's `prometheus` with a temporary configuration and storage, scraping every second.
final class PrometheusServer {
    static let binary = "/usr/bin/prometheus"
    let directory: String
    let port: Int
    let child: Child

    /// `targets`: job name to `host:port`.
    init(directory: String, targets: [(job: String, address: String)]) throws {
        self.directory = directory
        port = try freeLoopbackPort()
        try FileManager.default.createDirectory(atPath: directory + "/data", withIntermediateDirectories: true)
        var config = "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n"
        for target in targets {
            config += "  - job_name: \(target.job)\n    static_configs:\n      - targets: ['\(target.address)']\n"
        }
        try config.write(toFile: directory + "/prometheus.yml", atomically: true, encoding: .utf8)
        child = try Child(Self.binary, ["--config.file=\(directory)/prometheus.yml", "--storage.tsdb.path=\(directory)/data",
                                        "--web.listen-address=127.0.0.1:\(port)", "--log.level=warn"])
        try waitUntilServing("http://127.0.0.1:\(port)/-/ready", child: child, what: "prometheus", seconds: 30)
    }

    /// The value of an instant query that returns one series, or nil while it returns none.
    func value(_ query: String) throws -> Double? {
        var components = URLComponents(string: "http://127.0.0.1:\(port)/api/v1/query")!
        components.queryItems = [URLQueryItem(name: "query", value: query)]
        let answer = try httpGet(components.url!.absoluteString)
        guard answer.status == 200,
              let object = try JSONSerialization.jsonObject(with: Data(answer.body.utf8)) as? [String: Any],
              let data = object["data"] as? [String: Any], let result = data["result"] as? [[String: Any]] else {
            throw HarnessError("query \(query): \(answer.status) \(answer.body)")
        }
        guard result.count <= 1 else { throw HarnessError("query \(query) returned \(result.count) series: \(answer.body)") }
        guard let sample = result.first?["value"] as? [Any], let text = sample.last as? String else { return nil }
        return Double(text)
    }

    /// Polls until `query` gives `expected` (scrapes are a second apart), then returns what it gives.
    func settle(_ query: String, at expected: Double, seconds: Double = 30) throws -> Double? {
        let deadline = Date().addingTimeInterval(seconds)
        var last = try value(query)
        while last != expected, Date() < deadline {
            usleep(250_000)
            last = try value(query)
        }
        return last
    }

    private var stopped: CommandResult?

    /// SIGINT and wait; the storage goes with it. Once: later calls return the first result.
    func stop() -> CommandResult {
        if let stopped { return stopped }
        let result = child.interrupt(seconds: 20)
        try? FileManager.default.removeItem(atPath: directory)
        stopped = result
        return result
    }
}

/// Debian's `prometheus-node-exporter` with only the textfile collector, reading `directory`.
final class NodeExporter {
    static let binary = "/usr/bin/prometheus-node-exporter"
    let port: Int
    let child: Child

    init(textfileDirectory: String) throws {
        port = try freeLoopbackPort()
        child = try Child(Self.binary, ["--web.listen-address=127.0.0.1:\(port)", "--collector.disable-defaults",
                                        "--collector.textfile", "--collector.textfile.directory=\(textfileDirectory)"])
        try waitUntilServing("http://127.0.0.1:\(port)/metrics", child: child, what: "node_exporter", seconds: 20)
    }

    var address: String { "127.0.0.1:\(port)" }

    private var stopped: CommandResult?

    func stop() -> CommandResult {
        if let stopped { return stopped }
        stopped = child.interrupt(seconds: 20)
        return stopped!
    }
}
