import Synchronization

/// Compares how often watched tracepoints fired (`TracepointHits`) with how many firings their
/// programs handled (ran, or skipped and counted a recursion miss): the difference is events the
/// kernel dropped without saying so. Every pair of reads takes the firings first and what was
/// handled second (the baseline, before the counters open), so a firing between the two reads
/// can only hide a loss, never invent one; the result never decreases.
final class FiringCheck: Sendable {
    struct Watched: Sendable {
        var category: String
        var name: String
        var program: String
        var runsCounter: Int
    }

    /// Firings no program handled, and how many firings came while PID 1 was on the CPU (at most
    /// the first: the rest were handled or are not what went missing).
    struct Unhandled: Equatable {
        var count: UInt64 = 0
        var whileInitRan: UInt64 = 0
    }

    private struct State {
        var hits: [TracepointHits] = []
        /// Optional: without it only the attribution is missing.
        var initHits: [TracepointHits] = []
        var baseline: [UInt64] = []
        var frozen: [UInt64]?
        var frozenInit: UInt64?
        var failure: String?
        var highest: UInt64 = 0

        var initFirings: UInt64 { initHits.reduce(0) { $0 + $1.count() } }

        func result(_ firedWhileInitRan: UInt64) -> Unhandled {
            Unhandled(count: highest, whileInitRan: min(highest, firedWhileInitRan))
        }
    }

    let watched: [Watched]
    private let state = Mutex(State())

    init(_ watched: [Watched]) {
        self.watched = watched
    }

    func start(handled: [UInt64]) {
        state.withLock { state in
            do {
                for tracepoint in watched {
                    state.hits.append(try TracepointHits(category: tracepoint.category, name: tracepoint.name))
                }
                state.initHits = watched.compactMap {
                    try? TracepointHits(category: $0.category, name: $0.name, threadsOf: 1)
                }
                state.baseline = handled
            } catch {
                state.hits = []
                state.failure = "\(error)"
            }
        }
    }

    /// At detach: firings after it have no program to reach.
    func freeze() {
        state.withLock { state in
            if state.frozen == nil, !state.hits.isEmpty {
                state.frozen = state.hits.map { $0.count() }
                state.frozenInit = state.initFirings
            }
        }
    }

    func unhandled(handled readHandled: () -> [UInt64]) -> Result<Unhandled, UnhandledUnknown> {
        state.withLock { state in
            if let failure = state.failure { return .failure(UnhandledUnknown(reason: failure)) }
            let fired = state.frozen ?? state.hits.map { $0.count() }
            let firedWhileInitRan = state.frozenInit ?? state.initFirings
            let handled = readHandled()
            guard !fired.isEmpty, handled.count == fired.count, state.baseline.count == fired.count else {
                return .success(state.result(firedWhileInitRan))
            }
            var missing: UInt64 = 0
            for index in fired.indices {
                let reached = handled[index] &- state.baseline[index]
                if fired[index] > reached { missing += fired[index] - reached }
            }
            state.highest = max(state.highest, missing)
            return .success(state.result(firedWhileInitRan))
        }
    }
}

/// Why unhandled firings cannot be counted.
struct UnhandledUnknown: Error {
    var reason: String
}
