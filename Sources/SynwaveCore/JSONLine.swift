/// A minimal, allocation-light JSON object writer for one-object-per-line output.
public struct JSONLine {
    public private(set) var text = "{"
    private var first = true

    public init() {}

    private mutating func key(_ name: String) {
        if !first { text += "," }
        first = false
        text += "\""
        text += name
        text += "\":"
    }

    public mutating func field(_ name: String, _ value: String) {
        key(name)
        JSONLine.appendQuoted(value, to: &text)
    }

    public mutating func field<I: BinaryInteger>(_ name: String, _ value: I) {
        key(name)
        text += String(value)
    }

    public mutating func field(_ name: String, _ value: Bool) {
        key(name)
        text += value ? "true" : "false"
    }

    public mutating func null(_ name: String) {
        key(name)
        text += "null"
    }

    public mutating func object(_ name: String, _ build: (inout JSONLine) -> Void) {
        key(name)
        var inner = JSONLine()
        build(&inner)
        text += inner.finished()
    }

    public func finished() -> String { text + "}" }

    public static func appendQuoted(_ value: String, to out: inout String) {
        out += "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }
}
