import SynwaveCore
import SynwaveKernel

/// Turns a batch of kernel events and the records the correlator wrote for it into tail lines,
/// filtered: the standalone `synwave tail` and each client of the daemon's tail server use one.
final class TailRenderer {
    private let filter: EventFilter
    private let format: TailRequest.Format
    private let view: TailRequest.View
    /// Shows every kernel event (`--events`), which the kernel then sends as it happens.
    var showsEvents: Bool { view == .events }
    private var formatter: StateEventFormatter
    private var clock = StateClock()
    /// Listener events come from softirq context: their owner is found by socket inode, unless
    /// whoever fed the batch already did (the daemon resolves once for every client).
    private let owners: OwnerResolver?
    /// Names the workloads of records the feeder did not name, of listener events and of state
    /// events (the feeder learns new cgroups as their announcements pass).
    private let cgroups: CgroupResolver?

    init(_ request: TailRequest, bootToWallOffsetNs: Int64, owners: OwnerResolver?, cgroups: CgroupResolver?) {
        filter = request.filter
        format = request.format
        view = request.view
        formatter = StateEventFormatter(bootToWallOffsetNs: bootToWallOffsetNs, useUTC: request.utc)
        self.owners = owners
        self.cgroups = cgroups
    }

    private func named(_ record: ConnectionRecord) -> ConnectionRecord {
        guard record.workload == nil, record.cgroupID != 0, let cgroups else { return record }
        var named = record
        named.workload = cgroups.workload(of: record.cgroupID)
        return named
    }

    /// The column header of the text view, or nil for JSON.
    var header: String? {
        guard format == .text else { return nil }
        return view == .records ? formatter.recordHeader : formatter.header
    }

    /// Appends one line per shown event or record to `out`; returns how many.
    func render(events: [KernelEvent], records: [ConnectionRecord], into out: inout [UInt8]) -> UInt64 {
        return view == .records ? renderRecords(events, records, into: &out) : renderEvents(events, into: &out)
    }

    private func renderRecords(_ events: [KernelEvent], _ records: [ConnectionRecord], into out: inout [UInt8]) -> UInt64 {
        var count: UInt64 = 0
        // A listener's queue filling is news now, not part of any connection's record.
        for event in events {
            if case .listener(let e) = event {
                let workload = cgroups?.workload(of: e.cgroupID)
                guard filter.matches(event, workload: workload) else { continue }
                renderListener(e, workload: workload, into: &out)
                count += 1
            }
        }
        for raw in records {
            let record = named(raw)
            guard filter.matches(record) else { continue }
            switch format {
            case .text: formatter.text(record, into: &out)
            case .json: formatter.json(record, into: &out)
            }
            out.append(0x0A)
            count += 1
        }
        return count
    }

    private func renderEvents(_ events: [KernelEvent], into out: inout [UInt8]) -> UInt64 {
        var count: UInt64 = 0
        for event in events {
            if case .state(let state) = event {
                // Every transition advances the clock, shown or not, so durations stay right.
                let inOldState = clock.record(state)
                let workload = cgroups?.workload(of: state.cgroupID)
                guard filter.matches(state, workload: workload) else { continue }
                switch format {
                case .text: formatter.text(state, oldStateNs: inOldState, workload: workload, into: &out)
                case .json: formatter.json(state, oldStateNs: inOldState, workload: workload, into: &out)
                }
            } else if case .connection = event {
                continue // the events view shows the live copies of what it was made of
            } else if case .cgroup = event {
                continue
            } else if case .listener(let e) = event {
                let workload = cgroups?.workload(of: e.cgroupID)
                guard filter.states.isEmpty, filter.matches(event, workload: workload) else { continue }
                renderListener(e, workload: workload, into: &out)
                count += 1
                continue
            } else {
                guard filter.states.isEmpty, filter.matches(event) else { continue }
                switch format {
                case .text: formatter.text(event, into: &out)
                case .json: formatter.json(event, into: &out)
                }
            }
            out.append(0x0A)
            count += 1
        }
        return count
    }

    private func renderListener(_ event: ListenerEvent, workload: Workload?, into out: inout [UInt8]) {
        var e = event
        if e.owner == nil { e.owner = owners?.owner(of: e.inode) }
        switch format {
        case .text: formatter.text(.listener(e), workload: workload, into: &out)
        case .json: formatter.json(.listener(e), workload: workload, into: &out)
        }
        out.append(0x0A)
    }
}
