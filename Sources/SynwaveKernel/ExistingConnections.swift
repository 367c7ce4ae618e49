import SynwaveCore

/// TCP connections already open when tracing starts, in every network namespace: taken once,
/// after the programs are attached, so that each connection is in the snapshot or in the
/// events (or both, which the correlator reconciles).
public enum ExistingConnections {
    public struct Snapshot: Sendable {
        public var connections: [ExistingConnection] = []
        /// Namespaces that could not be read (gone meanwhile, or not enterable): name and why.
        public var failures: [String] = []
    }

    public static func snapshot(namespaces: [NamespaceTarget] = NamespaceDiscovery.all()) -> Snapshot {
        var snapshot = Snapshot()
        var inodes: [UInt64] = []
        for target in namespaces {
            do {
                for (connection, inode) in try NamespaceProbe(target).connections() {
                    snapshot.connections.append(connection)
                    inodes.append(inode)
                }
            } catch {
                snapshot.failures.append("\(target.name): \(error)")
            }
        }
        // Owners from one /proc scan; a socket whose descriptor is closed (inode 0) has none.
        let owners = OwnerResolver(minimumRescanNs: 0)
        for inode in inodes where inode != 0 { _ = owners.cached(inode) }
        owners.resolvePending()
        for (i, inode) in inodes.enumerated() where inode != 0 {
            snapshot.connections[i].owner = owners.cached(inode)
        }
        return snapshot
    }
}
