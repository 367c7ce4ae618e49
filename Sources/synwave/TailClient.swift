import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import SynwaveCore
import SynwaveKernel

/// `synwave tail` reading from a running daemon instead of loading its own programs: sends the
/// request (view, format, filters), then copies the daemon's lines to stdout and its notices
/// (lines starting with `#`) to stderr.
final class TailClient: Service, @unchecked Sendable {
    private let connection: UnixSocket
    private let socketPath: String
    private let request: TailRequest
    private let linesShown = Atomic<UInt64>(0)
    private let endedByDaemon = Atomic<Bool>(false)
    private let stopping = Atomic<Bool>(false)

    init(connection: UnixSocket, socketPath: String, request: TailRequest) {
        self.connection = connection
        self.socketPath = socketPath
        self.request = request
    }

    /// The daemon's connection, or nil when no daemon listens (standalone tracing then).
    /// A socket the user may not open is an error: tracing alone would need root anyway.
    static func connectIfRunning(socketPath: String) throws -> UnixSocket? {
        do {
            return try UnixSocket.connect(path: socketPath)
        } catch {
            switch error.errno {
            case .noSuchFileOrDirectory, .connectionRefused, .notDirectory: return nil
            case .permissionDenied, .notPermitted:
                StandardError.line("synwave: the daemon's tail socket \(socketPath) refused this user (permission denied): "
                    + "tail as root or as a member of the daemon's tail_group")
                throw ExitCode.failure
            default:
                StandardError.line("synwave: cannot reach the daemon: \(error)")
                throw ExitCode.failure
            }
        }
    }

    func run(logger: Logger) async throws {
        let group = ServiceGroup(configuration: .init(
            services: [.init(service: self, successTerminationBehavior: .gracefullyShutdownGroup)],
            gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        do { try await group.run() } catch {
            StandardError.line("synwave: \(error)")
            throw ExitCode.failure
        }
        StandardError.line("synwave: \(linesShown.load(ordering: .relaxed)) lines from the daemon"
            + (endedByDaemon.load(ordering: .relaxed) ? "; the daemon closed the tail (it stopped)" : ""))
    }

    func run() async throws {
        let sent = Array(request.line.utf8)
        let connection = self.connection
        let written = sent.withUnsafeBytes { raw in (try? connection.writeSome(raw)) ?? -1 }
        guard written == sent.count else { throw TailClientError("cannot send the tail request to \(socketPath)") }
        let result = await withGracefulShutdownHandler {
            // A blocking read on its own thread keeps the cooperative pool free.
            await withCheckedContinuation { continuation in
                Thread { continuation.resume(returning: self.copyLines()) }.start()
            }
        } onGracefulShutdown: { [self] in
            stopping.store(true, ordering: .relaxed)
            connection.shutdownBoth()
        }
        if case .failure(let error) = result { throw error }
    }

    /// Reads until the daemon or a signal ends the connection.
    private func copyLines() -> Result<Void, TailClientError> {
        let output = OutputWriter(fd: 1)
        var pending: [UInt8] = []
        var answered = false
        while true {
            // Blocking socket: nil (would block) cannot happen; an error or end of stream ends the tail.
            guard let chunk = try? connection.readSome(max: 1 << 16), !chunk.isEmpty else { break }
            pending += chunk
            var start = 0
            while let newline = pending[start...].firstIndex(of: 0x0A) {
                let line = pending[start..<newline]
                start = newline + 1
                if !answered {
                    answered = true
                    let text = String(decoding: line, as: UTF8.self)
                    if text.hasPrefix("ERROR ") { return .failure(TailClientError("the daemon refused the tail: \(text.dropFirst(6))")) }
                    guard text == "OK" else { return .failure(TailClientError("unexpected answer from \(socketPath): \(text)")) }
                    let mode = request.view == .events ? "events" : "connections"
                    StandardError.line("synwave: tailing TCP \(mode) from the daemon at \(socketPath); Ctrl-C to stop")
                    continue
                }
                if line.first == UInt8(ascii: "#") {
                    StandardError.line("synwave:" + String(decoding: line.dropFirst(), as: UTF8.self))
                    continue
                }
                output.buffer.append(contentsOf: line)
                output.endLine()
                linesShown.add(1, ordering: .relaxed)
            }
            pending.removeFirst(start)
            output.flush()
            if output.closed { break }
        }
        output.flush()
        if answered, !stopping.load(ordering: .relaxed) { endedByDaemon.store(true, ordering: .relaxed) }
        return answered ? .success(()) : .failure(TailClientError("the daemon at \(socketPath) closed the connection without answering"))
    }
}

struct TailClientError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
