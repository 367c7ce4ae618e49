import ArgumentParser
import Logging
import SynwaveCore
import SynwaveKernel

/// Where a connection's events become one record.
enum Assembly: String, ExpressibleByArgument, CaseIterable {
    case kernel, user
}

/// Flags shared by every command that loads the BPF programs.
struct TracingOptions: ParsableArguments {
    @Option(help: "How to attach: btf (tp_btf), tracepoint (classic), or auto (per feature, btf else tracepoint).")
    var attach: AttachMode = .auto

    @Option(help: ArgumentHelp("Where connections are assembled: kernel (one record per connection, assembled by the BPF programs, "
                               + "where every socket feature is on tp_btf) or user (every event goes out).", valueName: "where"))
    var assemble: Assembly = .kernel

    @Option(help: ArgumentHelp("BPF ring buffer size, split into one ring per CPU: a power of two from 64K to 1G, e.g. 16M.", valueName: "size"))
    var ringSize = "16M"

    @Option(help: ArgumentHelp("Milliseconds between ring buffer reads (1-10).", valueName: "ms"))
    var pollInterval: Int32 = 10

    @Flag(name: .shortAndLong, help: "Log more, including libbpf's messages.")
    var verbose = false

    func validate() throws {
        _ = try tracerOptions()
        guard (1...10).contains(pollInterval) else {
            throw ValidationError("--poll-interval must be between 1 and 10 ms")
        }
    }

    func tracerOptions() throws -> TracerOptions {
        guard let bytes = ByteSize.parse(ringSize) else {
            throw ValidationError("--ring-size '\(ringSize)' is not a size like 16M or 1G")
        }
        guard bytes >= 64 << 10, bytes <= 1 << 30, bytes & (bytes - 1) == 0 else {
            throw ValidationError("--ring-size must be a power of two from 64K to 1G, not \(ringSize)")
        }
        var options = TracerOptions(attach: attach, ringBufferBytes: UInt32(bytes))
        options.assembleConnections = assemble == .kernel
        return options
    }

    /// Only the executable configures logging; libraries just take a Logger.
    func bootstrapLogging() -> Logger { Self.bootstrapLogging(verbose: verbose) }

    static func bootstrapLogging(verbose: Bool) -> Logger {
        let level: Logger.Level = verbose ? .debug : .notice
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        LibbpfLog.echo.store(verbose, ordering: .relaxed)
        return Logger(label: "synwave")
    }

    func startTracer(logger: Logger, programs: ProgramSet = .all, pollsListeners: Bool = false) throws -> KernelTracer {
        var options = try tracerOptions()
        options.programs = programs
        options.pollsListeners = pollsListeners
        return try Self.startTracer(options, verbose: verbose, logger: logger)
    }

    /// Loads and attaches, or explains on stderr why not and exits.
    static func startTracer(_ options: TracerOptions, verbose: Bool, logger: Logger) throws -> KernelTracer {
        do {
            return try KernelTracer.start(options, logger: logger)
        } catch {
            if verbose { error.libbpfLog.forEach { StandardError.line("libbpf: \($0)") } }
            StandardError.line("synwave: \(error)")
            throw ExitCode.failure
        }
    }
}
