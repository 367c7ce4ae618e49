import ArgumentParser
import Foundation

/// Listeners that accept slowly or never: the listener-queue scenarios and the poller benchmark.
struct Listen: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Listen on --count ports from --port with --backlog; accept never, or every --accept-every-ms.")

    @Option var family: Family = .ipv4
    @Option var port: UInt16
    @Option(help: "How many consecutive ports to listen on.") var count = 1
    @Option var backlog: Int32 = 2
    @Option(help: "Accept (and close) one pending connection per listener this often; 0: never.") var acceptEveryMs = 0
    @Option(help: "Close everything after this many seconds.") var seconds = 30.0

    func run() throws {
        raiseFileLimit()
        var listeners: [TCPSocket] = []
        for offset in 0..<count {
            let listener = try TCPSocket(family: family.socketFamily)
            try listener.listen(host: family == .ipv4 ? "0.0.0.0" : "::", port: port + UInt16(offset), backlog: backlog)
            listeners.append(listener)
        }
        print("{\"listening\":\(listeners.count)}")
        fflush(stdout)
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            guard acceptEveryMs > 0 else { usleep(100_000); continue }
            usleep(UInt32(acceptEveryMs) * 1000)
            for listener in listeners { listener.acceptPending()?.close() }
        }
    }
}

/// Many connections at once, without waiting for any: a burst against a listener's queues.
struct Burst: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Start --count non-blocking connects, hold them, then close all.")

    @Option var family: Family = .ipv4
    @Option var addr: String
    @Option var port: UInt16
    @Option var count = 10
    @Option(help: "Milliseconds between two connects.") var spacingMs = 20
    @Option(help: "Hold the sockets this long after the last connect.") var holdSeconds = 3.0

    func run() throws {
        raiseFileLimit()
        var sockets: [TCPSocket] = []
        for _ in 0..<count {
            let socket = try TCPSocket(family: family.socketFamily)
            socket.startConnect(host: addr, port: port)
            sockets.append(socket)
            if spacingMs > 0 { usleep(UInt32(spacingMs) * 1000) }
        }
        usleep(UInt32(holdSeconds * 1_000_000))
        let established = sockets.filter { $0.isConnected }.count
        sockets.forEach { $0.close() }
        print("{\"established\":\(established),\"count\":\(count)}")
    }
}

/// Ten thousand listeners need more descriptors than the default soft limit.
func raiseFileLimit() {
    var limit = rlimit()
    guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return }
    limit.rlim_cur = limit.rlim_max
    setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
}
