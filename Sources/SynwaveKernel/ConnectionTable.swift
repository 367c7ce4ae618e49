import CSynwaveABI
import Glibc
import SynwaveCore

/// The BPF map "connections" mapped into memory: the running records of open sockets
/// (`bpf/connection.bpf.h`). A socket that ended while the kernel ran none of synwave's programs
/// (neither its CLOSE nor `tcp_destroy_sock`; on this kernel, while PID 1 was on the CPU) keeps
/// its slot and never sends its record. `sweep` finds such slots, asks sock_diag whether their
/// sockets are gone, and takes the records of those that are.
public final class ConnectionTable: @unchecked Sendable {
    private let slots: UnsafeMutablePointer<synwave_connection_slot>
    private let count: Int
    private let bytes: Int

    /// Maps `count` slots of a descriptor: the array map's (created with BPF_F_MMAPABLE), or any
    /// other file of that layout.
    public init(mapFD: Int32, slots count: Int) throws(SyscallError) {
        let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))
        let size = (count * MemoryLayout<synwave_connection_slot>.stride + pageSize - 1) / pageSize * pageSize
        guard let base = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_SHARED, mapFD, 0), base != MAP_FAILED else {
            throw SyscallError.last("mmap(BPF map connections, \(size) bytes)")
        }
        slots = base.bindMemory(to: synwave_connection_slot.self, capacity: count)
        self.count = count
        bytes = size
    }

    deinit {
        munmap(slots, bytes)
    }

    /// Slots still held, whose records did not go out, by sockets first seen before `cutoffNs`.
    public func unsent(firstSeenBefore cutoffNs: UInt64) -> [UnsentSlot] {
        var found: [UnsentSlot] = []
        for index in 0..<count {
            let cookie = slots[index].cookie
            guard cookie != 0 else { continue }
            let conn = slots[index].conn
            guard conn.flags & UInt8(SYNWAVE_CONN_EMITTED.rawValue) == 0, conn.start_ns != 0, conn.start_ns < cutoffNs else { continue }
            found.append(UnsentSlot(index: index, cookie: cookie, netns: conn.netns))
        }
        return found
    }

    /// The slot's record as `tcp_destroy_sock` would have sent it, and the slot freed; nil when
    /// the slot changed hands meanwhile.
    func take(_ slot: UnsentSlot, nowNs: UInt64) -> synwave_connection_event? {
        var conn = synwave_connection()
        guard synwave_connection_slot_take(slots + slot.index, slot.cookie, &conn) != 0 else { return nil }
        conn.flags |= UInt8(SYNWAVE_CONN_DESTROYED.rawValue)
        var event = synwave_connection_event()
        event.hdr.type = UInt16(SYNWAVE_EVENT_CONNECTION.rawValue)
        event.hdr.size = UInt16(MemoryLayout<synwave_connection_event>.size)
        event.hdr.flags = SYNWAVE_EVF_COOKIE.rawValue
        event.hdr.ts_ns = nowNs
        event.hdr.cookie = slot.cookie
        event.conn = conn
        return event
    }

    /// Records of sockets gone from the kernel that never sent theirs, decoded; slots of sockets
    /// the kernel still has, or whose namespace could not be read, stay as they are.
    public func sweep(firstSeenBefore cutoffNs: UInt64, nowNs: UInt64,
               presence: ([UInt32: [UInt64]]) -> SocketPresence.Answer = { SocketPresence.check($0) }) -> [KernelEvent] {
        let unsent = unsent(firstSeenBefore: cutoffNs)
        guard !unsent.isEmpty else { return [] }
        let gone = Set(presence(Dictionary(grouping: unsent, by: \.netns).mapValues { $0.map(\.cookie) }).gone)
        var events: [KernelEvent] = []
        for slot in unsent where gone.contains(slot.cookie) {
            guard var event = take(slot, nowNs: nowNs) else { continue }
            _ = withUnsafeBytes(of: &event) { EventDecoder.decode($0, into: &events) }
        }
        return events
    }
}

/// A held slot whose record did not go out.
public struct UnsentSlot: Equatable, Sendable {
    public var index: Int
    public var cookie: UInt64
    public var netns: UInt32
}
