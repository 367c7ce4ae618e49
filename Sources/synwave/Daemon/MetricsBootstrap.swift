import Metrics
import Prometheus

/// swift-metrics for the libraries the daemon runs (Hummingbird's request metrics), recorded in
/// the same registry as synwave's own families, under synwave's names.
enum MetricsBootstrap {
    static let names = [
        "hb.requests": "synwave_http_requests_total",
        "hb.request.errors": "synwave_http_request_errors_total",
        "http.server.request.duration": "synwave_http_request_duration_seconds",
        "http.server.active_requests": "synwave_http_active_requests",
    ]

    static func bootstrap(_ registry: PrometheusCollectorRegistry) {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.nameAndLabelSanitizer = { label, dimensions in
            let name = names[label] ?? "synwave_" + label.replacingDots()
            return (name, dimensions.map { ($0.0.replacingDots(), $0.1) })
        }
        MetricsSystem.bootstrap(factory)
    }
}

extension String {
    fileprivate func replacingDots() -> String { String(map { $0 == "." ? "_" : $0 }) }
}
