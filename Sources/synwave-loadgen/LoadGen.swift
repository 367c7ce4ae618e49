import ArgumentParser
import Foundation

@main
struct LoadGen: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "synwave-loadgen",
        abstract: "Loopback TCP traffic for synwave's tests and benchmark.",
        subcommands: [Pair.self, Churn.self, Serve.self, Connect.self, Listen.self, Burst.self])
}

enum Family: String, ExpressibleByArgument {
    case ipv4 = "4", ipv6 = "6"
    var socketFamily: Int32 { self == .ipv4 ? AF_INET : AF_INET6 }
    var loopback: String { self == .ipv4 ? "127.0.0.1" : "::1" }
}

private let countsLock = NSLock()
func withCountsLock(_ body: () -> Void) { countsLock.lock(); body(); countsLock.unlock() }

/// A value handed between threads that are joined before it is read.
final class Shared<T>: @unchecked Sendable {
    var value: T
    init(_ value: T) { self.value = value }
}

enum CloseKind: String, ExpressibleByArgument { case fin, rst }
enum Side: String, ExpressibleByArgument { case client, server }

/// One connection with data both ways and a FIN close; prints the ports as JSON.
struct Pair: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "One client/server connection with data and a FIN close.")

    @Option var family: Family = .ipv4
    @Option(help: "Bytes the client sends and the server echoes.") var bytes = 1000
    @Option(help: "Which side closes first.") var closeFirst: Side = .client
    @Option(help: "Listening port (0: any free one).") var port: UInt16 = 0

    func run() throws {
        let listener = try TCPSocket(family: family.socketFamily)
        try listener.listen(host: family.loopback, port: self.port)
        let port = listener.localPort
        let closeFirst = closeFirst
        let bytes = bytes
        let serverDone = DispatchSemaphore(value: 0)
        let serverError = Shared<Error?>(nil)
        Thread {
            defer { serverDone.signal() }
            do {
                let child = try listener.accept()
                let data = try child.receive(exactly: bytes)
                try child.sendAll(data)
                if closeFirst == .client { child.drainUntilClosed() }
                child.close()
            } catch { serverError.value = error }
        }.start()

        let client = try TCPSocket(family: family.socketFamily)
        try client.connect(host: family.loopback, port: port)
        let clientPort = client.localPort
        try client.sendAll([UInt8](repeating: 0x61, count: bytes))
        let echoed = try client.receive(exactly: bytes)
        guard echoed.count == bytes else { throw SocketError(operation: "echo", code: EPROTO) }
        if closeFirst == .server { client.drainUntilClosed() }
        client.close()
        serverDone.wait()
        if let error = serverError.value { throw error }
        // Lets the last ACKs land before the listener goes.
        usleep(50_000)
        listener.close()
        print("{\"listen_port\":\(port),\"client_port\":\(clientPort),\"family\":\"\(family.rawValue)\"}")
    }
}

/// Many short connections, as fast as possible, for a bounded time and count.
struct Churn: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Open and close connections as fast as possible; prints the rate as JSON.")

    @Option var family: Family = .ipv4
    @Option(help: "How the client closes: fin (normal) or rst (SO_LINGER 0).") var close: CloseKind = .fin
    @Option(help: "Stop after this many seconds.") var seconds = 5.0
    @Option(help: "Stop after this many connections.") var connections = 10_000_000
    @Option(help: "Client threads.") var clients = 1

    func validate() throws {
        guard seconds > 0, seconds <= 600 else { throw ValidationError("--seconds must be in (0, 600]") }
        guard (1...64).contains(clients) else { throw ValidationError("--clients must be 1 to 64") }
    }

    func run() throws {
        let listener = try TCPSocket(family: family.socketFamily)
        try listener.listen(host: family.loopback)
        let port = listener.localPort
        let server = Thread {
            while let child = try? listener.accept() {
                child.drainUntilClosed()
                child.close()
            }
        }
        server.start()

        let deadline = Date().addingTimeInterval(seconds)
        let start = Date()
        let counts = Shared([Int](repeating: 0, count: clients))
        let perClient = connections / clients
        let group = DispatchGroup()
        let family = family, close = close
        for index in 0..<clients {
            group.enter()
            Thread {
                defer { group.leave() }
                var made = 0
                while made < perClient, made % 64 != 0 || Date() < deadline {
                    guard let c = try? TCPSocket(family: family.socketFamily),
                          (try? c.connect(host: family.loopback, port: port)) != nil else { continue }
                    if close == .rst { c.setLingerZero() }
                    c.close()
                    made += 1
                }
                withCountsLock { counts.value[index] = made }
            }.start()
        }
        group.wait()
        let elapsed = Date().timeIntervalSince(start)
        let total = counts.value.reduce(0, +)
        // Let the server see the last closes, then stop it.
        usleep(200_000)
        shutdown(listener.fd, Int32(SHUT_RDWR))
        print("{\"connections\":\(total),\"seconds\":\(String(format: "%.3f", elapsed)),\"rate\":\(String(format: "%.1f", Double(total) / elapsed)),\"close\":\"\(close.rawValue)\"}")
    }
}

enum ServeMode: String, ExpressibleByArgument {
    /// Echo --bytes, then close after the client (or first, with --close-first server).
    case echo
    /// Accept and keep the connection until the client ends it.
    case hold
    /// Accept, let the client's data arrive, close without reading it (the kernel resets).
    case unread
}

/// The server half of a two-namespace scenario: accepts one connection on every address.
struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Accept one connection and behave as --mode says.")

    @Option var family: Family = .ipv4
    @Option var port: UInt16
    @Option var mode: ServeMode = .echo
    @Option(help: "Bytes to echo.") var bytes = 1000
    @Option(help: "Which side closes first (echo mode).") var closeFirst: Side = .client
    @Option(help: "Give up after this many seconds.") var seconds = 30.0

    func run() throws {
        let listener = try TCPSocket(family: family.socketFamily)
        try listener.listen(host: family == .ipv4 ? "0.0.0.0" : "::", port: port)
        alarm(UInt32(seconds.rounded(.up)))
        let child = try listener.accept()
        switch mode {
        case .echo:
            let data = try child.receive(exactly: bytes)
            try child.sendAll(data)
            if closeFirst == .client { child.drainUntilClosed() }
        case .hold:
            _ = child.waitForEnd(seconds: seconds)
        case .unread:
            usleep(300_000)
        }
        child.close()
        usleep(100_000)
        listener.close()
    }
}

/// The client half: connects (retrying while the server is not listening yet, unless
/// --refused is expected), then acts; prints how it ended as JSON.
struct Connect: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Connect once and act; prints the outcome as JSON.")

    @Option var family: Family = .ipv4
    @Option var addr: String
    @Option var port: UInt16
    @Option(help: "Bytes to send after connecting.") var bytes = 0
    @Flag(help: "Wait for the same bytes echoed back.") var echo = false
    @Option(help: "Milliseconds to wait after connecting, before sending.") var pauseMs = 0
    @Flag(help: "Close with SO_LINGER {1, 0} (a reset).") var lingerZero = false
    @Option(help: "Keepalive as idle,interval,count seconds.") var keepalive: String?
    @Option(help: "After sending, wait this long for the peer to close or the connection to fail.") var holdSeconds = 0.0
    @Flag(help: "Expect no listener: do not retry a refused connect.") var once = false

    func run() throws {
        var client = try TCPSocket(family: family.socketFamily)
        var connectError: Int32 = 0
        for _ in 0..<100 {
            do {
                try client.connect(host: addr, port: port)
                connectError = 0
                break
            } catch let error as SocketError {
                connectError = error.code
                guard !once, error.code == ECONNREFUSED else { break }
                usleep(50_000)
                client = try TCPSocket(family: family.socketFamily)
            }
        }
        var result = connectError
        if connectError == 0 {
            if let keepalive {
                let parts = keepalive.split(separator: ",").compactMap { Int32($0) }
                if parts.count == 3 { client.setKeepalive(idle: parts[0], interval: parts[1], count: parts[2]) }
            }
            if pauseMs > 0 { usleep(UInt32(pauseMs) * 1000) }
            if bytes > 0 {
                do {
                    try client.sendAll([UInt8](repeating: 0x62, count: bytes))
                    if echo { _ = try client.receive(exactly: bytes) }
                } catch let error as SocketError { result = error.code }
            }
            if result == 0, holdSeconds > 0 { result = client.waitForEnd(seconds: holdSeconds) }
            if lingerZero { client.setLingerZero() }
        }
        let port = client.localPort
        client.close()
        usleep(100_000)
        print("{\"client_port\":\(port),\"errno\":\(result)}")
    }
}
