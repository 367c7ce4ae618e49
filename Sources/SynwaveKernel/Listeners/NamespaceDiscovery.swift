#if canImport(Glibc)
import Glibc
#endif

/// Finds network namespaces: named ones (`ip netns add`, under /run/netns) and those of
/// running processes (/proc/PID/ns/net), one target per namespace.
public enum NamespaceDiscovery {
    public static func all() -> [NamespaceTarget] {
        var seen: Set<UInt64> = []
        var targets: [NamespaceTarget] = []
        func add(_ path: String?, _ name: String) {
            var info = stat()
            guard stat(path ?? "/proc/self/ns/net", &info) == 0, seen.insert(UInt64(info.st_ino)).inserted else { return }
            targets.append(NamespaceTarget(path: path, name: name))
        }
        add(nil, NamespaceTarget.own.name)
        for name in entries(of: "/run/netns").sorted() { add("/run/netns/\(name)", name) }
        for pid in entries(of: "/proc").compactMap({ UInt32($0) }).sorted() {
            add("/proc/\(pid)/ns/net", "pid \(pid)")
        }
        return targets
    }

    /// `/run/netns/NAME` for a bare name, the path itself otherwise.
    public static func target(for argument: String) -> NamespaceTarget {
        if argument.contains("/") {
            let name = argument.hasPrefix("/run/netns/") ? String(argument.dropFirst("/run/netns/".count)) : argument
            return NamespaceTarget(path: argument, name: name)
        }
        return NamespaceTarget(path: "/run/netns/\(argument)", name: argument)
    }

    static func entries(of directory: String) -> [String] {
        directoryEntries(directory).map(\.name)
    }
}
