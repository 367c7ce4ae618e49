import ServiceLifecycle
import SynwaveKernel

/// Says the daemon is ready once the service group runs: the group traps SIGTERM and SIGINT
/// before it starts any service, so whoever waits for this line (systemd's journal, a test,
/// the benchmark) may signal the daemon from then on. Announced earlier, a SIGTERM could
/// arrive while the default action still applies, and kill the daemon without its drain.
struct ReadyAnnouncer: Service {
    var line: String

    func run() async throws {
        StandardError.line(line)
        try? await gracefulShutdown()
    }
}
