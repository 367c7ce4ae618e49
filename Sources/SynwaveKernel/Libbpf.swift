import CLibbpf
#if canImport(Glibc)
import Glibc
#endif

/// An opened (and later loaded) BPF object; closing it unloads its programs and maps.
final class BPFObject {
    let pointer: OpaquePointer

    /// Opens an ELF object held in memory (the embedded one); `bytes` must outlive the call only.
    init(bytes: UnsafeRawBufferPointer, name: String) throws(BPFError) {
        LibbpfLog.install()
        var opts = bpf_object_open_opts()
        opts.sz = MemoryLayout<bpf_object_open_opts>.size
        let opened: OpaquePointer? = name.withCString { cName in
            opts.object_name = cName
            return bpf_object__open_mem(bytes.baseAddress, bytes.count, &opts)
        }
        guard let opened else { throw BPFError.lastErrno("bpf_object__open_mem(\(name))") }
        pointer = opened
    }

    deinit { bpf_object__close(pointer) }

    func program(named name: String) throws(BPFError) -> BPFProgram {
        guard let prog = bpf_object__find_program_by_name(pointer, name) else {
            throw BPFError("find BPF program \(name)", errno: .noSuchFileOrDirectory)
        }
        return BPFProgram(pointer: prog, name: name)
    }

    func map(named name: String) throws(BPFError) -> BPFMap {
        guard let map = bpf_object__find_map_by_name(pointer, name) else {
            throw BPFError("find BPF map \(name)", errno: .noSuchFileOrDirectory)
        }
        return BPFMap(pointer: map, name: name)
    }

    var programs: [BPFProgram] {
        var result: [BPFProgram] = []
        var prog = bpf_object__next_program(pointer, nil)
        while let p = prog {
            result.append(BPFProgram(pointer: p, name: String(cString: bpf_program__name(p))))
            prog = bpf_object__next_program(pointer, p)
        }
        return result
    }

    func load() throws(BPFError) {
        try BPFError.check(bpf_object__load(pointer), "bpf_object__load")
    }
}

/// A program inside a `BPFObject` (borrowed: the object owns it).
struct BPFProgram {
    let pointer: OpaquePointer
    let name: String

    func setAutoload(_ load: Bool) throws(BPFError) {
        try BPFError.check(bpf_program__set_autoload(pointer, load), "bpf_program__set_autoload(\(name))")
    }

    var autoload: Bool { bpf_program__autoload(pointer) }

    var fd: Int32 { bpf_program__fd(pointer) }

    func attach() throws(BPFError) -> BPFLink {
        guard let link = bpf_program__attach(pointer) else {
            throw BPFError.lastErrno("attach BPF program \(name)")
        }
        return BPFLink(pointer: link)
    }

    /// Attaches an iterator program (not read yet: see `BPFLink.openIterator`); `map` for an
    /// iterator over a map's elements.
    func attachIterator(map: BPFMap? = nil) throws(BPFError) -> BPFLink {
        guard let link = synwave_attach_iter(pointer, map?.fd ?? -1) else {
            throw BPFError.lastErrno("attach BPF iterator \(name)")
        }
        return BPFLink(pointer: link)
    }

    /// The kernel's view of the loaded program: run time (with kernel.bpf_stats_enabled) and misses.
    func info() throws(BPFError) -> bpf_prog_info {
        var info = bpf_prog_info()
        var length = UInt32(MemoryLayout<bpf_prog_info>.size)
        try BPFError.check(bpf_obj_get_info_by_fd(fd, &info, &length), "bpf_obj_get_info_by_fd(\(name))")
        return info
    }
}

/// A map inside a `BPFObject` (borrowed).
struct BPFMap {
    let pointer: OpaquePointer
    let name: String

    var fd: Int32 { bpf_map__fd(pointer) }

    /// A map-in-map's template for its inner maps (before load), replacing the one its definition
    /// declares. (libbpf 1.1 cannot resize the declared one: bpf_map__inner_map's result has no object.)
    func setInnerMapFD(_ fd: Int32) throws(BPFError) {
        try BPFError.check(bpf_map__set_inner_map_fd(pointer, fd), "bpf_map__set_inner_map_fd(\(name))")
    }

    func setMaxEntries(_ entries: UInt32) throws(BPFError) {
        try BPFError.check(bpf_map__set_max_entries(pointer, entries), "bpf_map__set_max_entries(\(name))")
    }

    /// Replaces a global-data map's initial contents (before load); sizes must match exactly.
    func setInitialValue<T>(_ value: T) throws(BPFError) {
        var copy = value
        let result = withUnsafeBytes(of: &copy) { raw in
            bpf_map__set_initial_value(pointer, raw.baseAddress, raw.count)
        }
        try BPFError.check(result, "bpf_map__set_initial_value(\(name))")
    }

    /// Writes one entry of an array map (`bpf_map_update_elem`).
    func update<T>(key: UInt32, value: T) throws(BPFError) {
        var k = key
        var copy = value
        let result = withUnsafeBytes(of: &copy) { raw in bpf_map_update_elem(fd, &k, raw.baseAddress, 0) }
        try BPFError.check(result, "bpf_map_update_elem(\(name)[\(key)])")
    }

    /// Every entry of a hash map, read in batches (a few syscalls for thousands of entries).
    func lookupAll<Key, Value>(_: Key.Type, _: Value.Type, zero: Value) throws(BPFError) -> [(Key, Value)]
    where Key: FixedWidthInteger {
        let chunk = 4096
        var keys = [Key](repeating: 0, count: chunk)
        var values = [Value](repeating: zero, count: chunk)
        var result: [(Key, Value)] = []
        var token: UInt64 = 0
        var first = true
        while true {
            var count = UInt32(chunk)
            var next: UInt64 = 0
            let rc: Int32 = keys.withUnsafeMutableBytes { k in
                values.withUnsafeMutableBytes { v in
                    withUnsafeMutablePointer(to: &token) { inBatch in
                        bpf_map_lookup_batch(fd, first ? nil : inBatch, &next, k.baseAddress, v.baseAddress, &count, nil)
                    }
                }
            }
            // ENOENT marks the last batch, which may still hold entries.
            let done = rc < 0 && -rc == ENOENT
            if rc < 0, !done { try BPFError.check(rc, "bpf_map_lookup_batch(\(name))") }
            for i in 0..<Int(count) { result.append((keys[i], values[i])) }
            if done || count == 0 { return result }
            token = next
            first = false
        }
    }

    /// How many values a per-CPU map holds per key: the possible CPUs, which libbpf reads from
    /// sysfs once. A lookup writes that many values, so a failed read must not become a guess.
    static func possibleCPUs() throws(BPFError) -> Int {
        let cpus = Int(libbpf_num_possible_cpus())
        guard cpus > 0 else { throw BPFError("libbpf_num_possible_cpus", errno: .init(rawValue: -Int32(cpus))) }
        return cpus
    }

    /// Sums a per-CPU array of u64 counters, one total per key.
    func sumPerCPU(keys: Int) throws(BPFError) -> [UInt64] {
        var values = [UInt64](repeating: 0, count: try Self.possibleCPUs())
        var totals: [UInt64] = []
        for key in 0..<keys {
            var k = UInt32(key)
            try BPFError.check(bpf_map_lookup_elem(fd, &k, &values), "bpf_map_lookup_elem(\(name)[\(key)])")
            totals.append(values.reduce(0, &+))
        }
        return totals
    }
}

/// An attachment; destroying it detaches the program.
final class BPFLink {
    private let pointer: OpaquePointer

    init(pointer: OpaquePointer) { self.pointer = pointer }

    deinit { bpf_link__destroy(pointer) }

    var fd: Int32 { bpf_link__fd(pointer) }
}
