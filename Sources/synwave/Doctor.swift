import ArgumentParser
import SynwaveCore
import SynwaveKernel

/// `synwave doctor`: can synwave trace here, and how is each feature attached.
struct DoctorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Check this host: kernel, BTF, tracefs, privileges, and how each feature attaches (or why not).",
        discussion: "Loads and attaches the programs as tracing would, then releases them. Exits 1 when synwave cannot trace.")

    @Option(help: "How to attach: btf (tp_btf), tracepoint (classic), or auto (per feature, btf else tracepoint).")
    var attach: AttachMode = .auto

    @Flag(help: "Print the report as one JSON object.")
    var json = false

    @Flag(name: .shortAndLong, help: "Log more, including libbpf's messages.")
    var verbose = false

    func run() throws {
        let logger = TracingOptions.bootstrapLogging(verbose: verbose)
        let report = Doctor.examine(attach: attach, logger: logger)
        let output = OutputWriter(fd: 1)
        for line in (json ? report.json() : report.text()).split(separator: "\n", omittingEmptySubsequences: false).dropLast() {
            output.line(String(line))
        }
        output.flush()
        if !report.ready { throw ExitCode.failure }
    }
}
