import ArgumentParser
import Logging
import ServiceLifecycle
import SynwaveCore
import SynwaveKernel
#if canImport(Glibc)
import Glibc
#endif

extension AttachMode: ExpressibleByArgument {}

struct Tail: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print every TCP connection on this host as it ends, or every TCP event, live.",
        discussion: """
            By default one line per connection when it ends: role, endpoints, how it ended, handshake time, \
            duration, bytes and retransmits. --events prints every state change, retransmit, reset and \
            socket error instead. Runs until Ctrl-C or SIGTERM, then prints to stderr how many events were \
            seen and lost.
            """)

    @Flag(help: "One JSON object per line instead of aligned columns.")
    var json = false

    @Flag(help: "Every kernel event (state changes, retransmits, resets, errors) instead of connection records.")
    var events = false

    @Option(help: ArgumentHelp("Only connections that ended this way, e.g. refused (repeatable).", valueName: "end"))
    var end: [String] = []

    @Option(help: ArgumentHelp("Most sockets tracked at once; the least recently active are evicted past it.",
                               valueName: "count"))
    var maxSockets: Int = 262_144

    @Option(help: ArgumentHelp("Drop open connections with no event for this many seconds (a lost close).",
                               valueName: "seconds"))
    var idleTimeout: UInt64 = 6 * 3600

    @Option(help: ArgumentHelp("Only events with this local or remote port (repeatable).", valueName: "port"))
    var port: [UInt16] = []

    @Option(help: ArgumentHelp("Only events with this local or remote address (repeatable).", valueName: "address"))
    var addr: [String] = []

    @Option(help: ArgumentHelp("Only events in this network namespace, by inode (repeatable).", valueName: "inode"))
    var netns: [UInt32] = []

    @Option(help: ArgumentHelp("Only transitions from or to this state, e.g. SYN_SENT (repeatable).", valueName: "state"))
    var state: [String] = []

    @Option(help: ArgumentHelp("Only sockets whose cgroup path starts with this, e.g. /system.slice/ (repeatable).",
                               valueName: "path-prefix"))
    var cgroup: [String] = []

    @Option(help: ArgumentHelp("Only sockets of this systemd unit or slice, e.g. nginx (nginx.service) or system.slice (repeatable).",
                               valueName: "name"))
    var unit: [String] = []

    @Option(help: ArgumentHelp("Only sockets of containers whose id starts with this, e.g. the 12 digits docker ps shows (repeatable).",
                               valueName: "id-prefix"))
    var container: [String] = []

    @Option(help: ArgumentHelp("Only sockets of this Kubernetes pod, by UID (repeatable).", valueName: "uid"))
    var pod: [String] = []

    @Option(help: ArgumentHelp("The daemon's tail socket: when a daemon listens there, tail it instead of loading BPF programs.",
                               valueName: "path"))
    var socket = "/run/synwave/tail.sock"

    @Flag(help: "Trace with this process's own BPF programs even when a daemon runs.")
    var standalone = false

    @OptionGroup var tracing: TracingOptions

    @Flag(help: "Show times in UTC instead of local time.")
    var utc = false

    // The tracing flags are checked by TracingOptions.validate().
    func validate() throws {
        _ = try eventFilter()
        guard maxSockets >= 16 else { throw ValidationError("--max-sockets must be at least 16") }
        guard idleTimeout >= 1 else { throw ValidationError("--idle-timeout must be at least 1 second") }
        if events, !end.isEmpty { throw ValidationError("--end filters connection records: it cannot be used with --events") }
    }

    func eventFilter() throws -> EventFilter {
        do {
            return try EventFilter(ports: port, addresses: addr, netns: netns, states: state, ends: end,
                                   workloads: WorkloadFilter(cgroupPrefixes: cgroup, units: unit,
                                                             containerPrefixes: container, pods: pod))
        } catch {
            throw ValidationError(error.description)
        }
    }

    var request: TailRequest {
        get throws {
            TailRequest(view: events ? .events : .records, format: json ? .json : .text, utc: utc, filter: try eventFilter())
        }
    }

    func run() async throws {
        let logger = tracing.bootstrapLogging()
        if !standalone, let connection = try TailClient.connectIfRunning(socketPath: socket) {
            // Compared with the flags' own defaults, so the two never drift apart.
            let defaults = try Tail.parse([])
            if tracing.attach != defaults.tracing.attach || tracing.ringSize != defaults.tracing.ringSize
                || tracing.assemble != defaults.tracing.assemble
                || maxSockets != defaults.maxSockets || idleTimeout != defaults.idleTimeout {
                StandardError.line("synwave: the daemon's tracer settings apply; --attach, --ring-size, --max-sockets and "
                    + "--idle-timeout only apply with --standalone")
            }
            try await TailClient(connection: connection, socketPath: socket, request: try request).run(logger: logger)
            return
        }
        let tracer = try tracing.startTracer(logger: logger)
        if events {
            do { try tracer.sendEveryEvent(true) } catch {
                StandardError.line("synwave: cannot ask the kernel for every event: \(error)")
                throw ExitCode.failure
            }
        }
        let reader = RingBufferReader(tracer: tracer, pollIntervalMs: tracing.pollInterval)
        let banner = "synwave: tracing TCP \(events ? "events" : "connections") (\(tracer.mode == .btf ? "tp_btf" : "classic tracepoint"), "
            + "\(tracer.ringSummary)); Ctrl-C to stop"
            + Self.offFeaturesNote(tracer.features)
        let printer = TailPrinter(banner: banner, batches: reader.batches, request: try request,
            correlator: CorrelatorOptions(capacity: maxSockets, idleTimeoutNs: idleTimeout * 1_000_000_000,
                                          assembledInKernel: tracer.assemblesConnections))
        let source = KernelEventSource(reader: reader)

        // Shutdown runs in reverse order: the source drains and ends the stream, then the printer finishes.
        let group = ServiceGroup(configuration: .init(
            services: [
                .init(service: printer, successTerminationBehavior: .gracefullyShutdownGroup),
                .init(service: source, successTerminationBehavior: .gracefullyShutdownGroup),
            ],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger))
        var failure: Error?
        do { try await group.run() } catch { failure = error }

        let kernel = (try? tracer.stats()) ?? TracerStats()
        let user = reader.stats
        let records = printer.metrics.connectionsEnded.all.reduce(0) { $0 + $1.1 }
        StandardError.line("synwave: \(user.received) events received (\(user.stateChanges) state changes, "
            + "\(tracer.assemblesConnections ? "\(kernel.connections.records) connections assembled in the kernel, \(user.recoveredFromTable) recovered from its table" : "every event sent")), "
            + "\(records) connection records, \(printer.shown) shown, "
            + "\(kernel.lossSummary), "
            + "\(user.droppedInUserSpace) dropped in user space, "
            + "\(user.decodeErrors) decode errors")
        if !events {
            let m = printer.metrics
            if m.expired + m.evicted + m.closesInferred + m.closesLost + m.duplicateTransitions + m.lateEvents + m.truncatedTransitions > 0 {
                StandardError.line("synwave: \(printer.stillOpen) connections still open (no record), "
                    + "\(m.expired) expired idle, \(m.evicted) evicted over --max-sockets, "
                    + "\(m.closesInferred) ended by their destruction (CLOSE not seen); "
                    + (m.closesLost > 0 ? "\(m.closesLost) gone from the kernel's table with no closing event; " : "")
                    + "events not in a record: \(m.duplicateTransitions) duplicate transitions, "
                    + "\(m.lateEvents) for sockets not tracked, \(m.truncatedTransitions) transitions past a record's limit")
            }
        }
        if kernel.submitted > user.received {
            StandardError.line("synwave: \(kernel.submitted - user.received) events submitted by the kernel were never read")
        }
        if let failure {
            StandardError.line("synwave: \(failure)")
            throw ExitCode.failure
        }
    }

    /// A second banner line naming what this kernel cannot trace, if anything.
    static func offFeaturesNote(_ features: [FeatureStatus]) -> String {
        let off = features.filter { !$0.enabled }.map(\.name)
        return off.isEmpty ? "" : "\nsynwave: not traced: \(off.joined(separator: ", ")) ('synwave doctor' says why)"
    }
}
