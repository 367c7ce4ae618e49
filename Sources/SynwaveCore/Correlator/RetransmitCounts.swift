/// Retransmitted segments of one connection, by kind. Tail-loss probes are counted apart from data.
public struct RetransmitCounts: Equatable, Sendable {
    public var syn: UInt16 = 0
    public var synack: UInt16 = 0
    public var data: UInt16 = 0
    public var fin: UInt16 = 0
    public var tlp: UInt16 = 0

    public init(syn: UInt16 = 0, synack: UInt16 = 0, data: UInt16 = 0, fin: UInt16 = 0, tlp: UInt16 = 0) {
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
