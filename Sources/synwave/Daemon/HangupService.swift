import ServiceLifecycle
import SynwaveKernel
import UnixSignals

/// SIGHUP: reopen the logs (after logrotate renamed them). Each log reopens at its next flush,
/// between whole lines, so no line is lost or split across the two files.
struct HangupService: Service {
    let logs: [LineLog]

    func run() async throws {
        let signals = await UnixSignalsSequence(trapping: .sighup)
        await cancelWhenGracefulShutdown {
            for await _ in signals {
                for log in logs { log.requestReopen() }
                StandardError.line("synwave: SIGHUP: reopening \(logs.map(\.path).joined(separator: " and "))")
            }
        }
    }
}
