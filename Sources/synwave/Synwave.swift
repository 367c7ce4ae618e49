import ArgumentParser

@main
struct Synwave: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "synwave",
        abstract: "Trace TCP connections: every state change, from SYN to FIN.",
        version: "0.1.0",
        subcommands: [Tail.self, Listeners.self, Daemon.self, Report.self, LadderCommand.self, DoctorCommand.self]
    )
}
