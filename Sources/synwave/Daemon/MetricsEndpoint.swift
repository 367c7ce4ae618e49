import Hummingbird
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import SynwaveCore

/// `GET /metrics` over HTTP on `metrics_listen`: the families of `synwave.prom`, from a snapshot
/// taken at each scrape. It runs on its own event loop thread, and a scrape only reads counters
/// behind short locks, so a slow or stuck scraper holds a connection, never the tracer.
struct MetricsEndpoint: Service {
    static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    var address: ListenAddress
    var source: DaemonMetricsSource
    var logger: Logger

    func run() async throws {
        let router = Router()
        router.add(middleware: MetricsMiddleware())
        router.get("/metrics") { [source] _, _ -> Response in
            Response(status: .ok, headers: [.contentType: Self.contentType],
                     body: ResponseBody(byteBuffer: ByteBuffer(bytes: source.scrape())))
        }
        router.get("/") { _, _ -> Response in
            Response(status: .ok, headers: [.contentType: "text/plain; charset=utf-8"],
                     body: ResponseBody(byteBuffer: ByteBuffer(string: "synwave: metrics at /metrics\n")))
        }
        let threads = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        // A connection that sends nothing for a minute is closed: stuck scrapers do not pile up.
        let application = Application(
            router: router, server: .http1(configuration: .init(idleTimeout: .seconds(60))),
            configuration: .init(address: .hostname(address.host, port: Int(address.port)), serverName: "synwave"),
            eventLoopGroupProvider: .shared(threads), logger: logger)
        do {
            try await application.run()
        } catch {
            try? await threads.shutdownGracefully()
            throw error
        }
        try await threads.shutdownGracefully()
    }
}
