import Foundation

/// Two network namespaces, client and server, joined by a veth pair (IPv4 and IPv6), made for
/// one test and deleted with it. Interface names live inside each namespace, so tests never collide.
final class VethPair {
    let client: NetworkNamespace
    let server: NetworkNamespace

    static let clientV4 = "10.77.0.1", serverV4 = "10.77.0.2"
    static let clientV6 = "fd77::1", serverV6 = "fd77::2"

    init(_ label: String) throws {
        client = try NetworkNamespace("\(label)-c")
        server = try NetworkNamespace("\(label)-s")
        try ip(["-n", client.name, "link", "add", "veth0", "type", "veth", "peer", "name", "veth1", "netns", server.name])
        for (ns, dev, v4, v6) in [(client, "veth0", Self.clientV4, Self.clientV6), (server, "veth1", Self.serverV4, Self.serverV6)] {
            try ip(["-n", ns.name, "addr", "add", "\(v4)/24", "dev", dev])
            try ip(["-n", ns.name, "addr", "add", "\(v6)/64", "dev", dev, "nodad"])
            try ip(["-n", ns.name, "link", "set", dev, "up"])
        }
    }

    private func ip(_ arguments: [String]) throws {
        let result = try run("/usr/sbin/ip", arguments)
        guard result.status == 0 else { throw HarnessError("ip \(arguments.joined(separator: " ")): \(result.stderr)") }
    }

    /// Runs a command inside `ns`.
    @discardableResult
    func exec(_ ns: NetworkNamespace, _ command: [String]) throws -> CommandResult {
        let result = try run("/usr/sbin/ip", ["netns", "exec", ns.name] + command)
        guard result.status == 0 else { throw HarnessError("\(command.joined(separator: " ")) in \(ns.name): \(result.stderr)") }
        return result
    }

    func sysctl(_ ns: NetworkNamespace, _ setting: String) throws {
        try exec(ns, ["/usr/sbin/sysctl", "-qw", setting])
    }

    /// Drops TCP packets to `port` arriving in `ns` (iptables and ip6tables).
    func dropIncoming(_ ns: NetworkNamespace, port: Int) throws {
        for tool in ["iptables", "ip6tables"] {
            try exec(ns, ["/usr/sbin/\(tool)", "-A", "INPUT", "-p", "tcp", "--dport", "\(port)", "-j", "DROP"])
        }
    }

    /// Waits until something in `ns` listens on `port`.
    func waitListening(_ ns: NetworkNamespace, port: Int, seconds: Double = 10) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if let out = try? exec(ns, ["/usr/bin/ss", "-Hltn", "sport", "= :\(port)"]).stdout, !out.isEmpty { return true }
            usleep(20_000)
        }
        return false
    }

    /// Waits until a connection in `ns` is established.
    func waitEstablished(_ ns: NetworkNamespace, seconds: Double = 10) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if let out = try? exec(ns, ["/usr/bin/ss", "-Htn", "state", "established"]).stdout, !out.isEmpty { return true }
            usleep(50_000)
        }
        return false
    }

    /// The namespace's TCP MIB counters, named as nstat names them (TcpRetransSegs, TcpExtTCPSynRetrans...).
    /// A new namespace's counters start at zero, so these are the test's own.
    func counters(_ ns: NetworkNamespace) throws -> [String: Int] {
        let text = try exec(ns, ["/bin/cat", "/proc/net/snmp", "/proc/net/netstat"]).stdout
        var counters: [String: Int] = [:]
        let lines = text.split(separator: "\n")
        for (names, values) in zip(lines, lines.dropFirst()) {
            let n = names.split(separator: " "), v = values.split(separator: " ")
            guard n.count == v.count, n.first == v.first, let prefix = n.first?.dropLast(), Int(v[1]) != nil || v.count < 2 else { continue }
            for (name, value) in zip(n.dropFirst(), v.dropFirst()) { counters["\(prefix)\(name)"] = Int(value) }
        }
        return counters
    }
}
