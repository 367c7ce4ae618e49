import Prometheus
import Synchronization
import SynwaveCore

/// Keeps a swift-prometheus registry equal to the daemon's latest metrics snapshot, and renders
/// it in the text exposition format: what `synwave.prom` holds and what `/metrics` serves.
///
/// The daemon's counters live in its own value types (the correlator is pure, the kernel's are
/// per-CPU maps), so each snapshot is mirrored: counters advance by their delta (reset when a
/// value went down, as a series that came back), gauges are set, histograms replay the new
/// observations bucket by bucket, and series missing from a snapshot are unregistered.
public final class PrometheusMirror: Sendable {
    public let registry: PrometheusCollectorRegistry
    private let state = Mutex(State())

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
    }

    /// Mirrors `families` and renders the registry in one step, so that a scrape and the file
    /// export never interleave their updates.
    public func render(_ families: [SynwaveCore.MetricFamily]) -> [UInt8] {
        state.withLock { state in
            state.update(families, in: registry)
            return registry.emitToBuffer()
        }
    }

    /// Samples the registry would have crashed on (a family both labeled and unlabeled), left out.
    public var samplesSkipped: UInt64 { state.withLock { $0.samplesSkipped } }

    struct SeriesKey: Hashable {
        var name: String
        var labels: [String]

        init(_ name: String, _ labels: [(String, String)]) {
            self.name = name
            self.labels = labels.flatMap { [$0.0, $0.1] }
        }
    }

    enum Series {
        case counter(Counter, last: Double)
        case gauge(Gauge)
        case histogram(ValueHistogram, last: SynwaveCore.Histogram)
    }

    /// What the registry insists stays fixed for a family while any of its series is registered.
    struct Shape: Equatable {
        var kind: SynwaveCore.MetricFamily.Kind
        var help: String
        var labeled: Bool
        var upperBounds: [Double]
    }

    struct State {
        var series: [SeriesKey: (Series, labels: [(String, String)])] = [:]
        var shapes: [String: Shape] = [:]
        var samplesSkipped: UInt64 = 0

        mutating func update(_ families: [SynwaveCore.MetricFamily], in registry: PrometheusCollectorRegistry) {
            var seen: Set<SeriesKey> = []
            for family in families where !family.samples.isEmpty {
                let labeled = family.samples.contains { !$0.labels.isEmpty }
                let bounds = family.samples.lazy.compactMap { sample -> [Double]? in
                    if case .histogram(let histogram) = sample.value { return histogram.upperBounds }
                    return nil
                }.first ?? []
                let shape = Shape(kind: family.kind, help: family.help, labeled: labeled, upperBounds: bounds)
                if let registered = shapes[family.name], registered != shape {
                    removeFamily(family.name, from: registry)
                }
                shapes[family.name] = shape
                let descriptor = MetricNameDescriptor(metricName: family.name, unitName: "", helpText: family.help)
                for sample in family.samples {
                    guard sample.labels.isEmpty != labeled else {
                        samplesSkipped += 1
                        continue
                    }
                    let key = SeriesKey(family.name, sample.labels)
                    guard seen.insert(key).inserted else {
                        samplesSkipped += 1
                        continue
                    }
                    let existing = series[key]?.0
                    switch (family.kind, sample.value) {
                    case (.counter, .number(let value)):
                        series[key] = (.counter(Self.advance(existing, to: value, descriptor, sample.labels, registry), last: value),
                                       sample.labels)
                    case (.gauge, .number(let value)):
                        let gauge: Gauge
                        if case .gauge(let known)? = existing { gauge = known } else {
                            gauge = registry.makeGauge(descriptor: descriptor, labels: sample.labels)
                        }
                        gauge.set(to: value)
                        series[key] = (.gauge(gauge), sample.labels)
                    case (.histogram, .histogram(let histogram)) where histogram.upperBounds == bounds:
                        series[key] = (.histogram(Self.advance(existing, to: histogram, descriptor, sample.labels, registry),
                                                  last: histogram), sample.labels)
                    default:
                        samplesSkipped += 1
                    }
                }
            }
            for (key, entry) in series where !seen.contains(key) {
                Self.unregister(entry.0, from: registry)
                series[key] = nil
            }
            let names = Set(series.keys.map(\.name))
            shapes = shapes.filter { names.contains($0.key) }
        }

        private mutating func removeFamily(_ name: String, from registry: PrometheusCollectorRegistry) {
            for (key, entry) in series where key.name == name {
                Self.unregister(entry.0, from: registry)
                series[key] = nil
            }
        }

        private static func unregister(_ series: Series, from registry: PrometheusCollectorRegistry) {
            switch series {
            case .counter(let counter, _): registry.unregisterCounter(counter)
            case .gauge(let gauge): registry.unregisterGauge(gauge)
            case .histogram(let histogram, _): registry.unregisterValueHistogram(histogram)
            }
        }

        private static func advance(_ existing: Series?, to value: Double, _ descriptor: MetricNameDescriptor,
                                    _ labels: [(String, String)], _ registry: PrometheusCollectorRegistry) -> Counter {
            let counter: Counter
            var last = 0.0
            if case .counter(let known, let lastValue)? = existing {
                counter = known
                last = lastValue
            } else {
                counter = registry.makeCounter(descriptor: descriptor, labels: labels)
            }
            if value < last {
                counter.reset()
                last = 0
            }
            let delta = value - last
            // Whole counts stay integers in the text (`5`, not `5.0`).
            if delta == delta.rounded(), value == value.rounded(), value < 9.0e15 {
                counter.increment(by: Int64(delta))
            } else if delta > 0 {
                counter.increment(by: delta)
            }
            return counter
        }

        private static func advance(_ existing: Series?, to histogram: SynwaveCore.Histogram,
                                    _ descriptor: MetricNameDescriptor, _ labels: [(String, String)],
                                    _ registry: PrometheusCollectorRegistry) -> ValueHistogram {
            var mirrored: ValueHistogram
            var last = SynwaveCore.Histogram(upperBounds: histogram.upperBounds)
            if case .histogram(let known, let lastHistogram)? = existing {
                mirrored = known
                if zip(lastHistogram.counts, histogram.counts).allSatisfy({ $0 <= $1 }) {
                    last = lastHistogram
                } else {
                    // Went down: the source started over. So does the series.
                    registry.unregisterValueHistogram(known)
                    mirrored = registry.makeValueHistogram(descriptor: descriptor, labels: labels, buckets: histogram.upperBounds)
                }
            } else {
                mirrored = registry.makeValueHistogram(descriptor: descriptor, labels: labels, buckets: histogram.upperBounds)
            }
            for (value, count) in HistogramReplay.observations(from: last, to: histogram) {
                for _ in 0..<count { mirrored.record(value) }
            }
            return mirrored
        }
    }
}
