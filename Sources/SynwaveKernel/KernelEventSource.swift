import ServiceLifecycle

/// The long-running service around `RingBufferReader`: runs until graceful shutdown or
/// cancellation, then waits for the reader's final drain.
public struct KernelEventSource: Service {
    public let reader: RingBufferReader

    public init(reader: RingBufferReader) {
        self.reader = reader
    }

    public func run() async throws {
        try reader.start()
        await withTaskCancellationHandler {
            await withGracefulShutdownHandler {
                await reader.finished()
            } onGracefulShutdown: {
                reader.requestStop()
            }
        } onCancel: {
            reader.requestStop()
        }
        if let failure = reader.failure { throw failure }
    }
}
