import ArgumentParser
import Logging
import ServiceLifecycle
import SynwaveCore
import SynwaveKernel
#if canImport(Glibc)
import Glibc
#endif

struct Daemon: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Trace continuously as a root service: event log, metrics files, live tails.",
        discussion: """
            Writes one JSON line per notable connection record and listener overflow to the event log, a \
            Prometheus text file (node_exporter textfile collector) and a JSON metrics line every \
            metrics_interval, serves the same metrics at http://127.0.0.1:9086/metrics (metrics_listen), and \
            serves `synwave tail` on a Unix socket. Runs with built-in defaults, or reads --config; --set \
            overrides any key. SIGHUP reopens the logs (logrotate); SIGTERM or SIGINT drain the ring buffer, \
            write the last records and metrics, detach and exit. Every key, its default and its range: \
            /etc/synwave/synwave.conf as installed (tools/synwave.conf in the source).
            """)

    @Option(help: ArgumentHelp("Configuration file (key = value lines; see tools/synwave.conf).", valueName: "path"))
    var config: String?

    @Option(name: .customLong("set"), help: ArgumentHelp("Override one configuration key, e.g. --set metrics_interval=30s (repeatable).",
                                                         valueName: "key=value"))
    var overrides: [String] = []

    @Option(help: ArgumentHelp("Directory of the event log, metrics log and metrics file (key log_dir).", valueName: "path"))
    var logDir: String?

    @Option(help: ArgumentHelp("Directory of the pidfile and tail socket (key run_dir).", valueName: "path"))
    var runDir: String?

    @Option(help: ArgumentHelp("Serve Prometheus metrics at http://ADDRESS/metrics, or off (key metrics_listen; "
                               + "default \(ListenAddress.loopbackDefault)).", valueName: "address"))
    var metricsListen: String?

    @Flag(help: "Check the configuration, print it and exit.")
    var check = false

    @Flag(name: .shortAndLong, help: "Log more, including libbpf's messages.")
    var verbose = false

    func run() async throws {
        let settings = try loadConfig()
        if check {
            // Everything start validates, looked up on this host too (groups, namespaces).
            _ = try resolve(settings)
            print(settings.text, terminator: "")
            return
        }
        let logger = TracingOptions.bootstrapLogging(verbose: verbose)
        do {
            try Preflight.checkPrivileges()
        } catch {
            StandardError.line("synwave: \(error)")
            throw ExitCode.failure
        }
        let plan = try resolve(settings)
        if let address = settings.metricsListen {
            do { try TCPListenCheck.check(address) } catch {
                let hint = error.errno == .addressInUse ? "; another process listens there (metrics_listen = off, or another address)" : ""
                StandardError.line("synwave: metrics_listen \(address): \(error)\(hint)")
                throw ExitCode.failure
            }
        }
        let pidFile: PidFile
        do { pidFile = try PidFile(path: settings.pidFilePath) } catch {
            StandardError.line("synwave: \(error)")
            throw ExitCode.failure
        }
        defer { pidFile.remove() }

        let rotation = LineLog.Rotation(maxBytes: settings.logMaxSize, keep: settings.logKeep)
        let eventLog = LineLog(path: settings.eventLogPath, bufferLimit: settings.logBufferLimit, rotation: rotation)
        let metricsLog = LineLog(path: settings.metricsLogPath, bufferLimit: settings.logBufferLimit, rotation: rotation)
        do {
            try eventLog.open()
            try metricsLog.open()
        } catch {
            StandardError.line("synwave: \(error)")
            throw ExitCode.failure
        }

        var tracerOptions = TracerOptions(attach: plan.attach, ringBufferBytes: UInt32(settings.ringBufferBytes))
        tracerOptions.pollsListeners = true
        tracerOptions.assembleConnections = settings.assemble == "kernel"
        tracerOptions.countedNetns = plan.onlyNetns
        let tracer = try TracingOptions.startTracer(tracerOptions, verbose: verbose, logger: logger)
        Listeners.useIterator(of: tracer, in: plan.poller, logger: logger)
        let features = tracer.features + Doctor.derived(from: tracer.features)
        for feature in features {
            logger.notice("feature", metadata: ["feature.name": "\(feature.name)", "feature.attached": "\(feature.attachment.rawValue)",
                                                "feature.detail": "\(feature.detail)"])
        }
        let listener: UnixSocket
        do {
            listener = try UnixSocket.listen(path: settings.tailSocketPath, mode: plan.tailGroup == nil ? 0o600 : 0o660,
                                             gid: plan.tailGroup)
        } catch {
            StandardError.line("synwave: tail socket: \(error)")
            throw ExitCode.failure
        }
        defer { unlink(settings.tailSocketPath) }

        let reader = RingBufferReader(tracer: tracer, pollIntervalMs: settings.pollIntervalMs)
        let pipeline = DaemonPipeline(batches: reader.batches,
            correlator: CorrelatorOptions(capacity: settings.maxSockets, idleTimeoutNs: settings.idleTimeoutNs,
                                          assembledInKernel: tracer.assemblesConnections),
            onlyNetns: plan.onlyNetns, closeCheckAfterNs: settings.closeCheckAfterNs,
            workloadSeriesLimit: settings.workloadMetricsMax, logger: logger)
        let eventLogService = EventLogService(log: eventLog, batches: pipeline.eventLogBatches, policy: settings.eventLogPolicy,
                                               cgroups: pipeline.cgroups)
        let tail = TailServer(listener: listener, path: settings.tailSocketPath, batches: pipeline.tailBatches,
                              cgroups: pipeline.cgroups, demand: pipeline.tailDemand, clientBufferBytes: settings.tailClientBuffer,
                              maxClients: settings.tailClientsMax) { [logger] on in
            do { try tracer.sendEveryEvent(on) } catch {
                logger.warning("cannot switch per-event records", metadata: ["error": "\(error)"])
            }
        }
        let listeners = ListenerService(poller: plan.poller, tracer: tracer, cgroups: pipeline.cgroups,
                                        intervalNs: settings.listenerIntervalNs)
        let metricsSource = DaemonMetricsSource(.init(
            tracer: tracer, features: features, reader: reader, pipeline: pipeline, listeners: listeners,
            listenerSeriesLimit: settings.listenerMetricsMax, tail: tail, eventLog: eventLog, metricsLog: metricsLog,
            eventLogService: eventLogService))
        MetricsBootstrap.bootstrap(metricsSource.mirror.registry)
        let exporter = MetricsExporter(source: metricsSource, metricsLog: metricsLog, metricsFile: settings.metricsFilePath,
                                       intervalNs: settings.metricsIntervalNs)
        let endpoint: [any Service] = settings.metricsListen.map {
            [MetricsEndpoint(address: $0, source: metricsSource, logger: logger)]
        } ?? []

        // Shutdown runs in reverse order: the source detaches and drains, the pipeline writes the
        // last records, the outputs finish them, and the exporter writes the final snapshot last.
        let ready = ReadyAnnouncer(
            line: "synwave: daemon tracing TCP (\(tracer.mode == .btf ? "tp_btf" : "classic tracepoint")), pid \(getpid()); "
                + "events to \(settings.eventLogPath), metrics to \(settings.metricsFilePath) every "
                + "\(settings.metricsIntervalNs / 1_000_000_000)s"
                + (settings.metricsListen.map { " and at http://\($0)/metrics" } ?? "")
                + ", tails on \(settings.tailSocketPath)")
        let services: [any Service] = [ready, exporter] + endpoint
            + [HangupService(logs: [eventLog, metricsLog]), listeners, tail, eventLogService, pipeline, KernelEventSource(reader: reader)]
        let group = ServiceGroup(configuration: .init(
            services: services.map { .init(service: $0, successTerminationBehavior: .gracefullyShutdownGroup) },
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger))
        var failure: Error?
        // The exporter shuts down last: its final snapshot already counts the last records.
        do { try await group.run() } catch { failure = error }

        let user = reader.stats
        let kernel = (try? tracer.stats()) ?? TracerStats()
        let records = pipeline.metrics.metrics.connectionsEnded.all.reduce(0) { $0 + $1.1 }
        StandardError.line("synwave: daemon stopped: \(user.received) events received (\(user.stateChanges) state changes, "
            + "\(tracer.assemblesConnections ? "\(kernel.connections.records) connections assembled in the kernel, \(user.recoveredFromTable) recovered from its table" : "every event sent")), "
            + "\(records) connection records, "
            + "\(kernel.lossSummary), "
            + "\(user.droppedInUserSpace + pipeline.metrics.droppedEvents) dropped in user space, "
            + "\(eventLog.stats.linesWritten) event log lines written, "
            + "\(eventLog.stats.linesDropped + metricsLog.stats.linesDropped) log lines dropped (log_buffer_limit), "
            + "\(eventLog.stats.linesPending + metricsLog.stats.linesPending) never written, "
            + "\(pipeline.metrics.tracked) connections still open (no record)"
            + (pipeline.unverifiedAtStop > 0
                ? ", \(pipeline.unverifiedAtStop) of them not verified (their namespace is gone or unreadable)" : ""))
        if let failure {
            StandardError.line("synwave: \(failure)")
            throw ExitCode.failure
        }
    }

    /// Built-in defaults, then the file, then the flags; the first bad value ends the run with its key named.
    func loadConfig() throws -> DaemonConfig {
        var settings = DaemonConfig()
        var text: String?
        if let config {
            do { text = try Preflight.readFile(config) } catch {
                StandardError.line("synwave: config \(config): cannot read it: \(error)")
                throw ExitCode.validationFailure
            }
        }
        do throws(DaemonConfigError) {
            if let config, let text {
                try DaemonConfigParser.apply(file: text, path: config, to: &settings)
            }
            if let logDir { try DaemonConfigParser.apply(key: "log_dir", value: logDir, origin: "--log-dir", to: &settings) }
            if let runDir { try DaemonConfigParser.apply(key: "run_dir", value: runDir, origin: "--run-dir", to: &settings) }
            if let metricsListen {
                try DaemonConfigParser.apply(key: "metrics_listen", value: metricsListen, origin: "--metrics-listen", to: &settings)
            }
            for assignment in overrides { try DaemonConfigParser.apply(assignment: assignment, to: &settings) }
        } catch {
            StandardError.line("synwave: \(error)")
            throw ExitCode.validationFailure
        }
        return settings
    }

    /// What the settings name, looked up on this host: the tail group, namespaces.
    struct Plan {
        var attach: AttachMode
        var tailGroup: gid_t?
        var onlyNetns: Set<UInt32>
        var poller: ListenerPoller
    }

    private func resolve(_ settings: DaemonConfig) throws -> Plan {
        func refuse(_ key: String, _ problem: String) -> ExitCode {
            StandardError.line("synwave: config: \(key): \(problem)")
            return ExitCode.validationFailure
        }
        var gid: gid_t?
        if let name = settings.tailGroup {
            guard let group = getgrnam(name) else { throw refuse("tail_group", "no group named '\(name)'") }
            gid = group.pointee.gr_gid
        }
        var onlyNetns: Set<UInt32> = []
        for entry in settings.onlyNetns {
            if let inode = UInt32(entry) {
                onlyNetns.insert(inode)
                continue
            }
            let target = NamespaceDiscovery.target(for: entry)
            var info = stat()
            guard let path = target.path, stat(path, &info) == 0 else {
                throw refuse("only_netns", "'\(entry)' is not a network namespace (see `ip netns list`)")
            }
            onlyNetns.insert(UInt32(truncatingIfNeeded: info.st_ino))
        }
        let poller: ListenerPoller
        do {
            poller = try ListenerPoller(namespaces: settings.listenerNetns.map(NamespaceDiscovery.target(for:)),
                                        discover: settings.listenerAllNetns)
        } catch {
            throw refuse("listener_netns", "\(error) (see `ip netns list`)")
        }
        return Plan(attach: AttachMode(rawValue: settings.attach) ?? .auto, tailGroup: gid, onlyNetns: onlyNetns, poller: poller)
    }
}
