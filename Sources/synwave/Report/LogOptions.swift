import ArgumentParser
import SynwaveKernel

/// Where `report` and `ladder` find the daemon's logs.
struct LogOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The daemon's log directory (its log_dir; default /var/log/synwave).", valueName: "dir"))
    var logDir: String?

    @Option(help: ArgumentHelp("Take log_dir, event_log and metrics_log from this daemon configuration file.", valueName: "file"))
    var config: String?

    func files() throws -> LogFiles {
        do { return try LogFiles(logDirectory: logDir, config: config) } catch {
            StandardError.line("synwave: \(error)")
            throw ExitCode.failure
        }
    }
}
