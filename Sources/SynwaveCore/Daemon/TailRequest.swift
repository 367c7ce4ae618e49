/// A filter criterion that does not parse, named by the flag that carried it.
public struct FilterError: Error, Equatable, CustomStringConvertible {
    public var description: String
}

extension EventFilter {
    /// The filter from its textual criteria, as `synwave tail`'s flags and the tail protocol carry them.
    public init(ports: [UInt16], addresses: [String], netns: [UInt32], states: [String],
                ends: [String], workloads: WorkloadFilter = WorkloadFilter()) throws(FilterError) {
        var parsedAddresses: Set<IPAddress> = []
        for text in addresses {
            guard let address = IPAddress(parsing: text) else {
                throw FilterError(description: "--addr '\(text)' is not an IPv4 or IPv6 address")
            }
            parsedAddresses.insert(address)
        }
        var parsedStates: Set<TCPState> = []
        for name in states {
            guard let state = TCPState(name: name) else {
                let known = TCPState.allCases.map(\.name).joined(separator: ", ")
                throw FilterError(description: "--state '\(name)' is not a TCP state (one of \(known))")
            }
            parsedStates.insert(state)
        }
        var parsedEnds: Set<ConnectionEnd> = []
        for name in ends {
            guard let end = ConnectionEnd(name: name) else {
                let known = ConnectionEnd.allCases.map(\.rawValue).joined(separator: ", ")
                throw FilterError(description: "--end '\(name)' is not a connection end (one of \(known))")
            }
            parsedEnds.insert(end)
        }
        for prefix in workloads.cgroupPrefixes where !prefix.hasPrefix("/") {
            throw FilterError(description: "--cgroup '\(prefix)' is not a cgroup path (it starts with /, e.g. /system.slice/)")
        }
        self.init(ports: Set(ports), addresses: parsedAddresses, netns: Set(netns), states: parsedStates, ends: parsedEnds,
                  workloads: workloads)
    }
}

/// What a `synwave tail` client asks the daemon for: one line, sent once after connecting.
/// The daemon filters and formats on its side, so the client only copies lines out.
///
///     SYNWAVE-TAIL 1 view=records format=text utc=0 port=443 addr=10.0.0.1 netns=4026531840 state=SYN_SENT end=refused
///         cgroup=/system.slice/ unit=nginx.service container=4f1c2d3e4f5a pod=8f4c3a9e-...
///
/// (one line). Workload values are percent-encoded (a cgroup path may hold spaces).
/// The daemon answers `OK` or `ERROR <why>` on the first line, then streams. A line starting
/// with `#` (text) or `{"type":"notice"` (JSON) is a notice from the daemon, such as skipped lines.
public struct TailRequest: Equatable, Sendable {
    public enum View: String, Sendable { case records, events }
    public enum Format: String, Sendable { case text, json }

    public static let magic = "SYNWAVE-TAIL"
    public static let version = 1
    /// A request longer than this is refused (it could only be garbage).
    public static let maxLength = 16 << 10

    public var view: View
    public var format: Format
    public var utc: Bool
    public var filter: EventFilter

    public init(view: View, format: Format, utc: Bool, filter: EventFilter) {
        self.view = view
        self.format = format
        self.utc = utc
        self.filter = filter
    }

    /// The request line, newline included.
    public var line: String {
        var words = ["\(Self.magic) \(Self.version)", "view=\(view.rawValue)", "format=\(format.rawValue)", "utc=\(utc ? 1 : 0)"]
        words += filter.ports.sorted().map { "port=\($0)" }
        words += filter.addresses.map(\.description).sorted().map { "addr=\($0)" }
        words += filter.netns.sorted().map { "netns=\($0)" }
        words += filter.states.map(\.name).sorted().map { "state=\($0)" }
        words += filter.ends.map(\.rawValue).sorted().map { "end=\($0)" }
        let w = filter.workloads
        words += w.cgroupPrefixes.map { "cgroup=\(Self.encoded($0))" }
        words += w.units.sorted().map { "unit=\(Self.encoded($0))" }
        words += w.containerPrefixes.map { "container=\(Self.encoded($0))" }
        words += w.pods.sorted().map { "pod=\(Self.encoded($0))" }
        return words.joined(separator: " ") + "\n"
    }

    public init(parsing line: String) throws(FilterError) {
        let words = line.split(separator: " ", omittingEmptySubsequences: true)
        guard words.count >= 2, words[0] == Self.magic else {
            throw FilterError(description: "not a synwave tail request")
        }
        guard Int(words[1]) == Self.version else {
            throw FilterError(description: "tail protocol version \(words[1]) is not supported (this daemon speaks \(Self.version))")
        }
        var view = View.records
        var format = Format.json
        var utc = false
        var ports: [UInt16] = [], addresses: [String] = [], netns: [UInt32] = [], states: [String] = [], ends: [String] = []
        var cgroups: [String] = [], units: [String] = [], containers: [String] = [], pods: [String] = []
        for word in words.dropFirst(2) {
            guard let equals = word.firstIndex(of: "=") else { throw FilterError(description: "bad request word '\(word)'") }
            let key = word[..<equals]
            let value = String(word[word.index(after: equals)...])
            switch key {
            case "view":
                guard let parsed = View(rawValue: value) else { throw FilterError(description: "unknown view '\(value)'") }
                view = parsed
            case "format":
                guard let parsed = Format(rawValue: value) else { throw FilterError(description: "unknown format '\(value)'") }
                format = parsed
            case "utc": utc = value == "1"
            case "port":
                guard let port = UInt16(value) else { throw FilterError(description: "--port '\(value)' is not a port") }
                ports.append(port)
            case "addr": addresses.append(value)
            case "netns":
                guard let inode = UInt32(value) else { throw FilterError(description: "--netns '\(value)' is not an inode") }
                netns.append(inode)
            case "state": states.append(value)
            case "end": ends.append(value)
            case "cgroup", "unit", "container", "pod":
                guard let decoded = Self.decoded(value) else { throw FilterError(description: "bad encoding in '\(word)'") }
                switch key {
                case "cgroup": cgroups.append(decoded)
                case "unit": units.append(decoded)
                case "container": containers.append(decoded)
                default: pods.append(decoded)
                }
            default: throw FilterError(description: "unknown request key '\(key)'")
            }
        }
        if view == .events, !ends.isEmpty {
            throw FilterError(description: "--end filters connection records: it cannot be used with --events")
        }
        self.init(view: view, format: format, utc: utc,
                  filter: try EventFilter(ports: ports, addresses: addresses, netns: netns, states: states, ends: ends,
                                          workloads: WorkloadFilter(cgroupPrefixes: cgroups, units: units,
                                                                    containerPrefixes: containers, pods: pods)))
    }

    /// Bytes outside printable ASCII, and space and `%`, as `%XX`.
    static func encoded(_ value: String) -> String {
        var out = ""
        for byte in value.utf8 {
            if byte > 0x20, byte < 0x7F, byte != UInt8(ascii: "%") {
                out.unicodeScalars.append(UnicodeScalar(byte))
            } else {
                out += "%" + (byte < 16 ? "0" : "") + String(byte, radix: 16, uppercase: true)
            }
        }
        return out
    }

    static func decoded(_ value: String) -> String? {
        var bytes: [UInt8] = []
        var iterator = value.utf8.makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else { bytes.append(byte); continue }
            guard let high = iterator.next(), let low = iterator.next(),
                  let value = UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16) else { return nil }
            bytes.append(value)
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
