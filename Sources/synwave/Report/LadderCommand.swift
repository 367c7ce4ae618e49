import ArgumentParser
import Foundation
import SynwaveCore
import SynwaveKernel
import SynwaveReport

struct LadderCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ladder",
        abstract: "Draw one connection as a ladder diagram: its two ends, the segments between them, each side's states.",
        discussion: """
            Finds the connection in the daemon's event log: by socket cookie (the `cookie` of a record), \
            or the most recent one to a service, ADDR:PORT (a client's remote end or a server's local \
            end; :PORT for any address). Both ends are drawn from their own records when both are on this \
            host; otherwise the other end is drawn as remote, from what this one implies. Retransmits are \
            dotted, resets drawn with '='. The event log holds every failed connection and a sample of \
            clean ones (event_log_records = all keeps every one).
            """)

    @OptionGroup var logs: LogOptions

    @Flag(help: "With ADDR:PORT: every connection to it, oldest first, not only the most recent.")
    var all = false

    @Argument(help: ArgumentHelp("A socket cookie, or ADDR:PORT ([IPv6]:PORT, :PORT).", valueName: "cookie|addr:port"))
    var target: String

    func validate() throws {
        guard let parsed = LadderSearch.target(parsing: target) else {
            throw ValidationError("'\(target)' is neither a cookie nor ADDR:PORT")
        }
        if all, case .cookie = parsed { throw ValidationError("--all goes with ADDR:PORT (a cookie names one socket)") }
    }

    func run() throws {
        let files = try logs.files()
        let target = LadderSearch.target(parsing: target)!
        let paths = LogFiles.rotations(of: files.eventLog)
        guard !paths.isEmpty else {
            StandardError.line("synwave: ladder: no event log at \(files.eventLog)")
            throw ExitCode.failure
        }
        // Only lines that can match are decoded (Foundation's decoding is the cost): those naming
        // the port, or the cookie; a cookie's other end is then looked for by its port.
        var search = LadderSearch(target, all: all)
        switch target {
        case .service(_, let port):
            try scan(paths, containing: LadderSearch.portKeys(port)) { search.add($0) }
        case .cookie(let cookie):
            try scan(paths, containing: [Array("\"cookie\":\(cookie),".utf8)]) { search.add($0) }
            if let found = search.connections.last?.first, let port = found.endpoints?.localPort {
                try scan(paths, containing: LadderSearch.portKeys(port)) { search.addOtherEnd($0) }
            }
        }
        let connections = search.connections
        guard !connections.isEmpty else {
            let what = UInt64(self.target) != nil ? "with cookie \(self.target)" : "to \(self.target)"
            StandardError.line("synwave: ladder: no connection \(what) in \(paths.count) event log file\(paths.count == 1 ? "" : "s")"
                + "; the event log keeps failed connections and a sample of clean ones (event_log_records = all keeps every one)")
            throw ExitCode.failure
        }
        var text = ""
        for (index, records) in connections.enumerated() {
            if index > 0 { text += "\n" }
            text += LadderText.render(Ladder(records)).joined(separator: "\n") + "\n"
        }
        FileHandle.standardOutput.write(Data(text.utf8))
    }

    /// Each record whose line holds one of `keys`, from the oldest file to the newest.
    private func scan(_ paths: [String], containing keys: [[UInt8]], _ body: (ConnectionRecord) -> Void) throws {
        let decoder = JSONDecoder()
        for path in paths {
            do {
                try LogFiles.eachLine(path, containing: keys) { line, complete in
                    guard complete, case .connection(let logged) = LogLine(line, decoder: decoder, decodeClean: true) else { return }
                    body(logged.record)
                }
            } catch {
                StandardError.line("synwave: ladder: \(error)")
                throw ExitCode.failure
            }
        }
    }
}
