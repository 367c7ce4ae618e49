import ServiceLifecycle
import Synchronization
import SynwaveCore
import SynwaveKernel

/// Serves `synwave tail` clients on the daemon's Unix socket. Each client sends one request
/// line (view, format, filters: see `TailRequest`) and then receives its lines, filtered and
/// formatted here. Writes never block: a client that reads too slowly has lines skipped past
/// its buffer limit and is told how many in a notice line, so it cannot slow the daemon.
final class TailServer: Service, @unchecked Sendable {
    private final class Client {
        let socket: UnixSocket
        let connectedNs: UInt64
        var request: [UInt8] = []
        var renderer: TailRenderer?
        var pending: [UInt8] = []
        var sentOffset = 0
        var skippedUnreported: UInt64 = 0
        var closed = false

        init(socket: UnixSocket, connectedNs: UInt64) {
            self.socket = socket
            self.connectedNs = connectedNs
        }

        var queuedBytes: Int { pending.count - sentOffset }
    }

    private let listener: UnixSocket
    private let path: String
    private let batches: AsyncStream<DaemonBatch>
    private let demand: TailDemand
    private let clientBufferBytes: Int
    private let maxClients: Int
    private let requestTimeoutNs: UInt64 = 5_000_000_000
    private let bootToWallOffsetNs = Clocks.bootToWallOffsetNs()
    private var clients: [Client] = []
    private var scratch: [UInt8] = []
    private let counters = Mutex(TailServerStats())
    /// Told when the first `--events` client starts and when the last one leaves: the kernel
    /// sends every event only meanwhile (`KernelTracer.sendEveryEvent`).
    private let eventViewers: (Bool) -> Void
    private var servingEventViewers = false

    /// The pipeline's: records come named; per-event lines are named for the workload filters.
    private let cgroups: CgroupResolver?

    init(listener: UnixSocket, path: String, batches: AsyncStream<DaemonBatch>, cgroups: CgroupResolver?, demand: TailDemand,
         clientBufferBytes: UInt64, maxClients: Int, eventViewers: @escaping (Bool) -> Void = { _ in }) {
        self.eventViewers = eventViewers
        self.cgroups = cgroups
        self.maxClients = maxClients
        self.listener = listener
        self.path = path
        self.batches = batches
        self.demand = demand
        self.clientBufferBytes = Int(clamping: clientBufferBytes)
    }

    var stats: TailServerStats { counters.withLock { $0 } }

    func run() async throws {
        for await batch in batches {
            let now = Clocks.bootNs()
            acceptClients(now: now)
            for client in clients {
                serve(client, batch, now: now)
            }
            removeClosed()
            demand.set(hasClients: !clients.isEmpty)
            let wantsEvents = clients.contains { $0.renderer?.showsEvents == true }
            if wantsEvents != servingEventViewers {
                servingEventViewers = wantsEvents
                eventViewers(wantsEvents)
            }
        }
        // The daemon stops: whatever each client can take now, then the connection ends.
        for client in clients {
            writePending(client)
            client.socket.shutdownBoth()
        }
        clients.removeAll()
        counters.withLock { $0.clients = 0 }
        try? await gracefulShutdown()
    }

    private func acceptClients(now: UInt64) {
        while true {
            do {
                guard let socket = try listener.accept() else { return }
                // Past the cap a client costs one line and no descriptor kept: connections that
                // never send their request cannot pile up (each also has a 5 s deadline).
                if clients.count >= maxClients {
                    let line = Array("ERROR too many tail clients (\(maxClients) connected, tail_clients_max): try again later\n".utf8)
                    _ = try? line.withUnsafeBytes { try socket.writeSome($0) }
                    socket.shutdownBoth()
                    counters.withLock { $0.clientsOverCap += 1 }
                    continue
                }
                clients.append(Client(socket: socket, connectedNs: now))
                counters.withLock { $0.clientsServed += 1 }
            } catch {
                StandardError.line("synwave: tail socket \(path): \(error)")
                return
            }
        }
    }

    private func serve(_ client: Client, _ batch: DaemonBatch, now: UInt64) {
        // Reading also notices a client that went away without ever being written to.
        let input: [UInt8]?
        do { input = try client.socket.readSome() } catch { client.closed = true; return }
        if let input {
            if input.isEmpty { client.closed = true; return }
            if client.renderer == nil { client.request += input }
        }
        guard let renderer = client.renderer ?? startIfRequested(client, now: now) else { return }
        scratch.removeAll(keepingCapacity: true)
        let lines = renderer.render(events: batch.events, records: batch.records, into: &scratch)
        if lines > 0 {
            if client.queuedBytes + scratch.count > clientBufferBytes {
                client.skippedUnreported += lines
                counters.withLock { $0.linesSkipped += lines }
            } else {
                if client.skippedUnreported > 0, client.queuedBytes < clientBufferBytes / 2 { reportSkipped(client) }
                client.pending += scratch
            }
        } else if client.skippedUnreported > 0, client.queuedBytes < clientBufferBytes / 2 {
            reportSkipped(client)
        }
        writePending(client)
    }

    /// Parses the request once its line is complete; answers OK or ERROR.
    private func startIfRequested(_ client: Client, now: UInt64) -> TailRenderer? {
        guard let newline = client.request.firstIndex(of: 0x0A) else {
            if client.request.count > TailRequest.maxLength || now &- client.connectedNs > requestTimeoutNs {
                refuse(client, "no request line within 5 s")
            }
            return nil
        }
        let text = String(decoding: client.request[..<newline], as: UTF8.self)
        do {
            let request = try TailRequest(parsing: text)
            let renderer = TailRenderer(request, bootToWallOffsetNs: bootToWallOffsetNs, owners: nil,
                                        cgroups: cgroups)
            client.renderer = renderer
            client.pending += Array("OK\n".utf8)
            if let header = renderer.header { client.pending += Array((header + "\n").utf8) }
            counters.withLock { $0.clients += 1 }
            return renderer
        } catch {
            refuse(client, error.description)
            return nil
        }
    }

    private func refuse(_ client: Client, _ reason: String) {
        client.pending += Array("ERROR \(reason)\n".utf8)
        writePending(client)
        client.closed = true
        counters.withLock { $0.clientsRefused += 1 }
    }

    private func reportSkipped(_ client: Client) {
        client.pending += Array("# \(client.skippedUnreported) lines skipped: this tail read too slowly\n".utf8)
        client.skippedUnreported = 0
    }

    private func writePending(_ client: Client) {
        guard client.queuedBytes > 0, !client.closed else { return }
        do {
            let written = try client.pending.withUnsafeBytes { raw in
                try client.socket.writeSome(UnsafeRawBufferPointer(rebasing: raw[client.sentOffset...]))
            }
            client.sentOffset += written
        } catch {
            client.closed = true
            return
        }
        // Compact once the sent part dominates, so the buffer does not grow without bound.
        if client.sentOffset == client.pending.count {
            client.pending.removeAll(keepingCapacity: client.pending.capacity <= 1 << 20)
            client.sentOffset = 0
        } else if client.sentOffset > 1 << 20 {
            client.pending.removeFirst(client.sentOffset)
            client.sentOffset = 0
        }
    }

    private func removeClosed() {
        let before = clients.count
        let serving = clients.filter { $0.closed && $0.renderer != nil }.count
        clients.removeAll { $0.closed }
        if clients.count != before, serving > 0 { counters.withLock { $0.clients -= UInt64(serving) } }
    }
}
