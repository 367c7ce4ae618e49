import ArgumentParser
import Logging
import ServiceLifecycle
import SynwaveCore
import SynwaveKernel
#if canImport(Glibc)
import Glibc
#endif

struct Listeners: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Every TCP listener's SYN and accept queues: depth, peaks, overflows, drops, SYN-ACK retransmits.",
        discussion: """
            Without --watch: one snapshot of the current depths, like `ss -lnt` with the half-open (SYN \
            queue) count per listener. With --watch: loads the BPF listener programs and refreshes every \
            --interval with the peaks and drops seen since start, until Ctrl-C. OVERFLOWS counts final ACKs \
            and SYNs dropped on a full accept queue (the namespace's ListenOverflows); SYN-DROPS counts SYNs \
            dropped on a full SYN queue (TCPReqQFullDrop). Syncookies are counted by the kernel per \
            namespace only, shown under the table.
            """)

    @Flag(help: "Refresh until Ctrl-C, with peaks and drops since start.")
    var watch = false

    @Option(help: ArgumentHelp("Time between refreshes: 100ms to 1h, e.g. 500ms or 2s.", valueName: "duration"))
    var interval = "1s"

    @Option(help: ArgumentHelp("Stop after this many refreshes (with --watch).", valueName: "count"))
    var count: UInt64?

    @Flag(help: "One JSON object per listener and per namespace, each on its own line.")
    var json = false

    @Flag(help: "With --watch --json: print a listener or namespace only when its line changed (all of them on the first refresh).")
    var changes = false

    @Option(help: ArgumentHelp("Also watch this network namespace: a name under /run/netns or a path like /proc/PID/ns/net (repeatable).",
                               valueName: "netns"))
    var netns: [String] = []

    @Flag(help: "Watch every network namespace found under /run/netns and /proc/*/ns/net, as they come and go.")
    var allNetns = false

    @Option(help: ArgumentHelp("How --watch reads the queues: iterator (BPF, one read for every namespace), walk (BPF, a walk of each namespace's TCP sockets), sock-diag (netlink), or auto (the first the kernel takes).",
                               valueName: "source"))
    var pollVia: ListenerPollSource = .auto

    @OptionGroup var tracing: TracingOptions

    func validate() throws {
        let nanos = try intervalNs()
        guard nanos >= 100_000_000, nanos <= 3_600_000_000_000 else {
            throw ValidationError("--interval must be between 100ms and 1h, not \(interval)")
        }
        if count == 0 { throw ValidationError("--count must be at least 1") }
        if count != nil, !watch { throw ValidationError("--count needs --watch") }
        if changes, !(watch && json) { throw ValidationError("--changes needs --watch and --json") }
        if pollVia != .auto, !watch { throw ValidationError("--poll-via needs --watch (a snapshot reads sock_diag)") }
    }

    func intervalNs() throws -> UInt64 {
        guard let nanos = DurationText.parseNanoseconds(interval) else {
            throw ValidationError("--interval '\(interval)' is not a duration like 500ms, 1s or 2m")
        }
        return nanos
    }

    func run() async throws {
        let logger = tracing.bootstrapLogging()
        let poller: ListenerPoller
        do {
            poller = try ListenerPoller(namespaces: netns.map(NamespaceDiscovery.target(for:)), discover: allNetns)
        } catch {
            StandardError.line("synwave: cannot watch a network namespace: \(error) (see `ip netns list`)")
            throw ExitCode.failure
        }
        let owners = OwnerResolver()
        let cgroups = CgroupResolver.discover()
        let output = OutputWriter(fd: 1)
        var table = ListenerTable()
        guard watch else {
            _ = Self.refresh(poller, tracer: nil, owners: owners, cgroups: cgroups, table: &table)
            Self.write(table.report, json: json, poll: 1, into: output)
            output.flush()
            return
        }

        let tracer = try tracing.startTracer(logger: logger, programs: .listeners, pollsListeners: pollVia != .sockDiag)
        if pollVia != .sockDiag { Self.useIterator(of: tracer, in: poller, walkOnly: pollVia == .walk, logger: logger) }
        if pollVia == .iterator || pollVia == .walk, poller.iterator?.name != pollVia.sourceName {
            let feature: Feature = pollVia == .walk ? .listenerWalk : .listenerIterator
            let why = tracer.features.first { $0.name == feature.rawValue }?.detail ?? ""
            StandardError.line("synwave: --poll-via \(pollVia.rawValue): \(feature.rawValue) is off on this kernel (\(why))")
            throw ExitCode.failure
        }
        if !tracer.hasListenerPrograms {
            StandardError.line("synwave: no listener program loads on this kernel: peaks and drops come from the polls only")
        }
        // The listener programs also send events; nobody here prints them, but the ring must be read.
        // Listener events are rare and the kernel wakes the reader early for a burst: a slow
        // poll saves a wakeup every 10 ms.
        let reader = RingBufferReader(tracer: tracer, pollIntervalMs: 100)
        let watcher = ListenerWatcher(
            poller: poller, tracer: tracer, owners: owners, cgroups: cgroups, output: output, json: json, changesOnly: changes,
            intervalNs: try intervalNs(), count: count, events: reader.batches)
        let group = ServiceGroup(configuration: .init(
            services: [
                .init(service: watcher, successTerminationBehavior: .gracefullyShutdownGroup),
                .init(service: KernelEventSource(reader: reader), successTerminationBehavior: .gracefullyShutdownGroup),
            ],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger))
        do { try await group.run() } catch {
            StandardError.line("synwave: \(error)")
            throw ExitCode.failure
        }
        let stats = (try? tracer.stats()) ?? TracerStats()
        if stats.listenersUntracked > 0 {
            StandardError.line("synwave: \(stats.listenersUntracked) listener samples lost: the kernel's listener map was full")
        }
    }

    static func write(_ report: ListenerReport, json: Bool, poll: UInt64, into output: OutputWriter) {
        if json {
            ListenerReportFormatter.json(report, poll: poll, into: &output.buffer)
        } else {
            ListenerReportFormatter.text(report, into: &output.buffer)
        }
    }

    /// Polls through the tracer's listener iterator (or walk) when it has one.
    static func useIterator(of tracer: KernelTracer, in poller: ListenerPoller, walkOnly: Bool = false, logger: Logger) {
        do {
            poller.iterator = try tracer.listenerIterator(walkOnly: walkOnly)
        } catch {
            logger.notice("listener iterator unavailable: polling through sock_diag", metadata: ["error": "\(error)"])
        }
    }

    /// One poll of every namespace joined with the kernel's statistics; returns what changed
    /// (`table.report` has every listener).
    static func refresh(_ poller: ListenerPoller, tracer: KernelTracer?, owners: OwnerResolver, cgroups: CgroupResolver?,
                        table: inout ListenerTable) -> ListenerReport {
        let (polls, failures) = poller.poll()
        for failure in failures { StandardError.line("synwave: \(failure)") }
        var kernel: [UInt64: ListenerKernelStats] = [:]
        if let tracer {
            do { kernel = try tracer.listenerStats() } catch { StandardError.line("synwave: \(error)") }
        }
        // Owners first seen now are placed by the next rescan (the first one at once).
        var changes = table.update(polls: polls, kernel: kernel, owner: owners.cached,
                                   workload: { cgroups?.workload(of: $0) })
        if owners.hasPending, owners.resolvePending() { table.refreshOwners(owners.cached, into: &changes) }
        return changes
    }
}

/// Where `listeners --watch` reads the queue depths.
enum ListenerPollSource: String, ExpressibleByArgument, CaseIterable {
    case auto, iterator, walk
    case sockDiag = "sock-diag"

    /// `ListenerIterator.name` of the BPF sources.
    var sourceName: String? {
        switch self {
        case .iterator: "the BPF listener iterator"
        case .walk: "BPF walks of each namespace's TCP sockets"
        case .auto, .sockDiag: nil
        }
    }
}

/// The `--watch` loop: a refresh every interval until shutdown or `count` refreshes.
final class ListenerWatcher: Service, @unchecked Sendable {
    private let poller: ListenerPoller
    private let tracer: KernelTracer
    private let owners: OwnerResolver
    private let cgroups: CgroupResolver?
    private let output: OutputWriter
    private let json: Bool
    private let changesOnly: Bool
    private let intervalNs: UInt64
    private let count: UInt64?
    private let events: AsyncStream<[KernelEvent]>
    private let clearScreen = isatty(1) != 0

    init(poller: ListenerPoller, tracer: KernelTracer, owners: OwnerResolver, cgroups: CgroupResolver?, output: OutputWriter,
         json: Bool, changesOnly: Bool, intervalNs: UInt64, count: UInt64?, events: AsyncStream<[KernelEvent]>) {
        self.poller = poller
        self.tracer = tracer
        self.owners = owners
        self.cgroups = cgroups
        self.output = output
        self.json = json
        self.changesOnly = changesOnly
        self.intervalNs = intervalNs
        self.count = count
        self.events = events
    }

    func run() async throws {
        let events = self.events
        let drain = Task { for await _ in events {} }
        defer { drain.cancel() }
        let source = poller.iterator?.name ?? "sock_diag"
        StandardError.line("synwave: watching TCP listeners every \(intervalNs / 1_000_000)ms through \(source); Ctrl-C to stop")
        var table = ListenerTable()
        var refreshes: UInt64 = 0
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            let changes = Listeners.refresh(poller, tracer: tracer, owners: owners, cgroups: cgroups, table: &table)
            refreshes += 1
            if !json {
                if clearScreen { output.buffer.append(contentsOf: "\u{1b}[H\u{1b}[2J".utf8) } else if refreshes > 1 {
                    output.line("")
                }
            }
            Listeners.write(changesOnly ? changes : table.report, json: json, poll: refreshes, into: output)
            output.flush()
            if output.closed { return }
            if let count, refreshes >= count { return }
            let pause = intervalNs
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .nanoseconds(pause)) }
        }
    }
}
