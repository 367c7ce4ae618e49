import CLibbpf
import SynwaveCore
#if canImport(Glibc)
import Glibc
#endif

/// One BPF ring buffer per possible CPU, each put at its CPU's index in the programs' "rings"
/// array of maps. A program reserves in its own CPU's ring, so CPUs never contend for one
/// ring's lock and producer position (one shared ring cost ~150 ns more per event on two CPUs).
final class PerCPURings {
    let fds: [Int32]
    let bytesPerRing: UInt32

    /// How a failed ring creation's operation begins (the tracer words that error for the user).
    static let createOperation = "bpf_map_create(ring buffer"

    /// For banners and errors: "2 × 8 MiB".
    static func summary(rings: Int, bytesPerRing: UInt32) -> String { "\(rings) × \(ByteSize.text(UInt64(bytesPerRing)))" }

    var summary: String { Self.summary(rings: fds.count, bytesPerRing: bytesPerRing) }

    /// Creates the rings (before the object is loaded: the first one is the template the
    /// kernel checks every inner map against).
    init(cpus: Int, bytesPerRing: UInt32) throws(BPFError) {
        var fds: [Int32] = []
        for cpu in 0..<cpus {
            let fd = bpf_map_create(BPF_MAP_TYPE_RINGBUF, "synwave_ring", 0, 0, bytesPerRing, nil)
            if fd < 0 {
                fds.forEach { close($0) }
                throw BPFError("\(Self.createOperation) of CPU \(cpu), \(bytesPerRing) bytes)", errno: .init(rawValue: -fd))
            }
            fds.append(fd)
        }
        self.fds = fds
        self.bytesPerRing = bytesPerRing
    }

    /// Makes `outer` (an array of maps, before load) take rings like these.
    func useAsTemplate(of outer: BPFMap) throws(BPFError) {
        try outer.setMaxEntries(UInt32(fds.count))
        try outer.setInnerMapFD(fds[0])
    }

    /// Puts each ring at its CPU's index in `outer` (loaded).
    func fill(_ outer: BPFMap) throws(BPFError) {
        for (cpu, fd) in fds.enumerated() {
            var key = UInt32(cpu)
            var value = fd
            try BPFError.check(bpf_map_update_elem(outer.fd, &key, &value, 0), "bpf_map_update_elem(\(outer.name)[\(cpu)])")
        }
    }

    deinit { fds.forEach { close($0) } }
}
