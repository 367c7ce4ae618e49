/// One Prometheus metric family: a name, its help and type, and one sample per label set.
public struct MetricFamily: Equatable, Sendable {
    public enum Kind: String, Sendable { case counter, gauge, histogram }

    public enum Value: Equatable, Sendable {
        case number(Double)
        case histogram(Histogram)
    }

    public struct Sample: Equatable, Sendable {
        public var labels: [(String, String)]
        public var value: Value

        public init(labels: [(String, String)] = [], _ value: Value) {
            self.labels = labels
            self.value = value
        }

        public static func == (a: Sample, b: Sample) -> Bool {
            a.value == b.value && a.labels.elementsEqual(b.labels, by: { $0 == $1 })
        }
    }

    public var name: String
    public var help: String
    public var kind: Kind
    public var samples: [Sample]

    public init(_ name: String, _ kind: Kind, _ help: String, _ samples: [Sample] = []) {
        self.name = name
        self.kind = kind
        self.help = help
        self.samples = samples
    }

    public mutating func add(_ value: Double, _ labels: [(String, String)] = []) {
        samples.append(Sample(labels: labels, .number(value)))
    }

    public mutating func add<I: BinaryInteger>(_ value: I, _ labels: [(String, String)] = []) {
        add(Double(value), labels)
    }

    /// Every line's name, labels and value as the text format writes them (histograms expanded
    /// to `_bucket`, `_sum`, `_count`): what both the Prometheus file and the JSON line hold.
    public func flattened() -> [(name: String, labels: [(String, String)], value: Double)] {
        var lines: [(String, [(String, String)], Double)] = []
        for sample in samples {
            switch sample.value {
            case .number(let value):
                lines.append((name, sample.labels, value))
            case .histogram(let histogram):
                var cumulative: UInt64 = 0
                for (index, count) in histogram.counts.enumerated() {
                    cumulative += count
                    // As swift-prometheus writes `le` (Swift's Double description, "1.0"), so the
                    // metrics log and synwave.prom name the same series.
                    let bound = index < histogram.upperBounds.count ? histogram.upperBounds[index].description : "+Inf"
                    lines.append((name + "_bucket", sample.labels + [("le", bound)], Double(cumulative)))
                }
                lines.append((name + "_sum", sample.labels, histogram.sum))
                lines.append((name + "_count", sample.labels, Double(histogram.count)))
            }
        }
        return lines
    }
}

/// The metrics log's rendering of a snapshot: one JSON line with the values `synwave.prom` holds
/// (that text is swift-prometheus's: SynwavePrometheus).
public enum MetricText {
    /// `{"type":"metrics","time":…,"unix_ms":…,"samples":[{"name":…,"labels":{…},"value":…},…]}`
    public static func jsonLine(_ families: [MetricFamily], unixMs: UInt64, time: String) -> [UInt8] {
        var out: [UInt8] = []
        out.append(contentsOf: "{\"type\":\"metrics\",\"time\":".utf8)
        out.appendJSONQuoted(time)
        out.append(contentsOf: ",\"unix_ms\":".utf8)
        out.append(decimal: unixMs)
        out.append(contentsOf: ",\"samples\":[".utf8)
        var first = true
        for family in families {
            for line in family.flattened() {
                if !first { out.append(UInt8(ascii: ",")) }
                first = false
                out.append(contentsOf: "{\"name\":".utf8)
                out.appendJSONQuoted(line.name)
                out.append(contentsOf: ",\"labels\":{".utf8)
                for (index, label) in line.labels.enumerated() {
                    if index > 0 { out.append(UInt8(ascii: ",")) }
                    out.appendJSONQuoted(label.0)
                    out.append(UInt8(ascii: ":"))
                    out.appendJSONQuoted(label.1)
                }
                out.append(contentsOf: "},\"value\":".utf8)
                // JSON has no +Inf or NaN; a metric never holds them, but a line must stay valid.
                out.append(contentsOf: (line.value.isFinite ? number(line.value) : "null").utf8)
                out.append(UInt8(ascii: "}"))
            }
        }
        out.append(contentsOf: "]}".utf8)
        return out
    }

    /// Integers without a fraction (counters are whole), others in the shortest exact form.
    public static func number(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return "\(value)"
    }
}
