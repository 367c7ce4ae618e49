import ArgumentParser
import Foundation
import SynwaveCore
import SynwaveKernel
import SynwaveReport

struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write one self-contained HTML page of what the host's connections did, from the daemon's logs.",
        discussion: """
            Reads the event log and the metrics log (their rotated files too, oldest first) and draws: \
            connections per second by how they ended, handshake-time and duration distributions, the \
            peers and local services with the most failures, each listener's SYN and accept queues and \
            overflows, retransmits by kind, and ladder diagrams of the worst failed connections. The \
            page has its CSS and SVG inline and fetches nothing. Garbage and torn lines, and missing \
            logs, are counted on the page and on stderr.
            """)

    @OptionGroup var logs: LogOptions

    @Option(help: ArgumentHelp("Only what happened in this last stretch, e.g. 30m, 6h or 2d.", valueName: "duration"))
    var since: String?

    @Option(name: .shortAndLong, help: ArgumentHelp("The HTML file to write ('-' for standard output).", valueName: "file"))
    var output: String

    @Option(help: ArgumentHelp("Ladder diagrams of this many failed connections, at most.", valueName: "count"))
    var ladders = 6

    func validate() throws {
        if let since, DurationText.parseNanoseconds(since) == nil {
            throw ValidationError("--since '\(since)' is not a duration like 30m, 6h or 2d")
        }
        if !(0...50).contains(ladders) { throw ValidationError("--ladders must be between 0 and 50") }
    }

    func run() throws {
        let files = try logs.files()
        let started = Date()
        let nowMs = Int64(started.timeIntervalSince1970 * 1000)
        let sinceMs = since.flatMap(DurationText.parseNanoseconds).map { nowMs - Int64($0 / 1_000_000) }
        var builder = ReportBuilder(sinceUnixMs: sinceMs)
        for log in [files.eventLog, files.metricsLog] {
            let paths = LogFiles.rotations(of: log)
            if paths.isEmpty { builder.missing(log) }
            for path in paths {
                builder.startFile()
                // Decoded in parallel a few MiB at a time: a batch's decoded snapshots are
                // several times its bytes.
                var batch: [Data] = []
                var batchBytes = 0
                do {
                    try LogFiles.eachLine(path) { line, complete in
                        guard complete else { return builder.add(line: line, complete: false) }
                        batch.append(line)
                        batchBytes += line.count
                        if batch.count == 4096 || batchBytes > 4 << 20 {
                            builder.add(lines: batch)
                            batch.removeAll(keepingCapacity: true)
                            batchBytes = 0
                        }
                    }
                    builder.add(lines: batch)
                } catch {
                    StandardError.line("synwave: report: \(error)")
                    builder.missing(path)
                }
            }
        }
        var page = ReportPage(builder: builder, generatedUnixMs: nowMs, host: ProcessInfo.processInfo.hostName,
                              logDirectory: (files.eventLog as NSString).deletingLastPathComponent)
        page.ladders = ladders
        let html = Data(page.render().utf8)
        do {
            if output == "-" {
                FileHandle.standardOutput.write(html)
            } else {
                try html.write(to: URL(fileURLWithPath: output), options: .atomic)
            }
        } catch {
            StandardError.line("synwave: report: cannot write \(output): \((error as NSError).localizedDescription)")
            throw ExitCode.failure
        }
        let c = builder.counts
        for problem in c.problems { StandardError.line("synwave: report: \(problem)") }
        let seconds = Date().timeIntervalSince(started)
        StandardError.line("synwave: report: wrote \(output == "-" ? "standard output" : output) (\(html.count / 1024) KiB) from "
            + "\(c.records) records and \(c.metricsLines) metrics snapshots (\(c.files) files, \(c.bytes / 1024) KiB) in "
            + "\(String(format: "%.2f", seconds)) s")
    }
}
