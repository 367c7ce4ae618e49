/// Retransmitted segments by kind. Tail-loss probes are counted apart from data.
/// Per connection with small counters (`RetransmitCounts`), in the metrics with wide ones.
public struct RetransmitTally<Count: FixedWidthInteger & UnsignedInteger & Sendable>: Equatable, Sendable {
    public var syn: Count = 0
    public var synack: Count = 0
    public var data: Count = 0
    public var fin: Count = 0
    public var tlp: Count = 0

    public init(syn: Count = 0, synack: Count = 0, data: Count = 0, fin: Count = 0, tlp: Count = 0) {
        self.syn = syn
        self.synack = synack
        self.data = data
        self.fin = fin
        self.tlp = tlp
    }

    public var total: Int { Int(syn) + Int(synack) + Int(data) + Int(fin) + Int(tlp) }

    mutating func count(_ event: RetransmitEvent) {
        switch event.kind {
        case .syn: syn &+= 1
        case .synack: synack &+= 1
        case .fin: fin &+= 1
        case .data:
            if event.isTailLossProbe { tlp &+= 1 } else { data &+= 1 }
        }
    }
}

public typealias RetransmitCounts = RetransmitTally<UInt16>
