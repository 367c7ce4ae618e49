import Foundation

/// What `synwave doctor` found: the host's prerequisites and every feature's state.
public struct DoctorReport: Sendable, Codable, Equatable {
    public struct Check: Sendable, Codable, Equatable {
        public var name: String
        public var ok: Bool
        public var detail: String

        public init(name: String, ok: Bool, detail: String) {
            self.name = name
            self.ok = ok
            self.detail = detail
        }
    }

    public var kernel: String
    public var checks: [Check]
    /// Loaded features first (`Feature`), then capabilities derived from them and from sock_diag.
    public var features: [FeatureStatus]

    public init(kernel: String, checks: [Check], features: [FeatureStatus]) {
        self.kernel = kernel
        self.checks = checks
        self.features = features
    }

    /// Tracing works when every check passed and state changes are traced.
    public var ready: Bool {
        checks.allSatisfy(\.ok) && features.contains { $0.name == Feature.stateChanges.rawValue && $0.enabled }
    }

    public func text() -> String {
        var lines = ["kernel \(kernel)"]
        let checkWidth = checks.map(\.name.count).max() ?? 0
        for check in checks {
            lines.append("  \(check.ok ? "ok  " : "FAIL") \(check.name.padding(checkWidth)) \(check.detail)")
        }
        lines.append("")
        let nameWidth = max("FEATURE".count, features.map(\.name.count).max() ?? 0)
        lines.append("  \("FEATURE".padding(nameWidth)) \("ATTACHED".padding(10)) DETAIL")
        for feature in features {
            let detail = feature.detail.isEmpty ? (Feature(rawValue: feature.name)?.summary ?? "") : feature.detail
            lines.append("  \(feature.name.padding(nameWidth)) \(feature.attachment.rawValue.padding(10)) \(detail)")
        }
        lines.append("")
        lines.append(ready ? "synwave can trace on this host." : "synwave cannot trace on this host: see FAIL above.")
        return lines.joined(separator: "\n") + "\n"
    }

    public func json() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data = (try? encoder.encode(JSONForm(report: self))) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self) + "\n"
    }

    private struct JSONForm: Encodable {
        var kernel: String
        var ready: Bool
        var checks: [Check]
        var features: [FeatureStatus]

        init(report: DoctorReport) {
            kernel = report.kernel
            ready = report.ready
            checks = report.checks
            features = report.features
        }
    }
}

extension String {
    fileprivate func padding(_ width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}
