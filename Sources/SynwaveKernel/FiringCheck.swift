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

    private struct State {
        var hits: [TracepointHits] = []
        var baseline: [UInt64] = []
        var frozen: [UInt64]?
        var failure: String?
        var highest: UInt64 = 0
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
            if state.frozen == nil, !state.hits.isEmpty { state.frozen = state.hits.map { $0.count() } }
        }
    }

    func unhandled(handled readHandled: () -> [UInt64]) -> Result<UInt64, UnhandledUnknown> {
        state.withLock { state in
            if let failure = state.failure { return .failure(UnhandledUnknown(reason: failure)) }
            let fired = state.frozen ?? state.hits.map { $0.count() }
            let handled = readHandled()
            guard !fired.isEmpty, handled.count == fired.count, state.baseline.count == fired.count else {
                return .success(state.highest)
            }
            var missing: UInt64 = 0
            for index in fired.indices {
                let reached = handled[index] &- state.baseline[index]
                if fired[index] > reached { missing += fired[index] - reached }
            }
            state.highest = max(state.highest, missing)
            return .success(state.highest)
        }
    }
}

/// Why unhandled firings cannot be counted.
struct UnhandledUnknown: Error {
    var reason: String
}
