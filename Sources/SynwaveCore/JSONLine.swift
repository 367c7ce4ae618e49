/// Writes one JSON object straight into a byte buffer: no intermediate Strings, because
/// formatting runs once per kernel event.
public struct JSONLine {
    public private(set) var bytes: [UInt8]
    private var first = true

    private init(bytes: [UInt8]) {
        self.bytes = bytes
    }

    /// Appends one object (no newline) to `out`.
    public static func write(into out: inout [UInt8], _ build: (inout JSONLine) -> Void) {
        var line = JSONLine(bytes: [])
        swap(&line.bytes, &out)
        line.bytes.append(UInt8(ascii: "{"))
        build(&line)
        line.bytes.append(UInt8(ascii: "}"))
        swap(&line.bytes, &out)
    }

    private mutating func key(_ name: StaticString) {
        if !first { bytes.append(UInt8(ascii: ",")) }
        first = false
        bytes.append(UInt8(ascii: "\""))
        bytes.append(static: name)
        bytes.append(contentsOf: [UInt8(ascii: "\""), UInt8(ascii: ":")])
    }

    public mutating func field(_ name: StaticString, _ value: String) {
        key(name)
        bytes.appendJSONQuoted(value)
    }

    public mutating func field(_ name: StaticString, literal value: StaticString) {
        key(name)
        bytes.append(UInt8(ascii: "\""))
        bytes.append(static: value)
        bytes.append(UInt8(ascii: "\""))
    }

    public mutating func field<I: FixedWidthInteger & UnsignedInteger>(_ name: StaticString, _ value: I) {
        key(name)
        bytes.append(decimal: UInt64(value))
    }

    /// A value already rendered by `render` into the buffer (addresses, times).
    public mutating func field(_ name: StaticString, quoted render: (inout [UInt8]) -> Void) {
        key(name)
        bytes.append(UInt8(ascii: "\""))
        render(&bytes)
        bytes.append(UInt8(ascii: "\""))
    }

    public mutating func field(_ name: StaticString, bool value: Bool) {
        key(name)
        bytes.append(static: value ? "true" : "false")
    }

    public mutating func field(_ name: StaticString, signed value: Int64) {
        key(name)
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
        bytes.append(decimal: value.magnitude)
    }

    /// An array whose elements `render` writes as raw JSON.
    public mutating func field<S: Sequence>(_ name: StaticString, rawArray elements: S,
                                            _ render: (S.Element, inout [UInt8]) -> Void) {
        key(name)
        bytes.append(UInt8(ascii: "["))
        var first = true
        for element in elements {
            if !first { bytes.append(UInt8(ascii: ",")) }
            first = false
            render(element, &bytes)
        }
        bytes.append(UInt8(ascii: "]"))
    }

    public mutating func null(_ name: StaticString) {
        key(name)
        bytes.append(static: "null")
    }

    public mutating func object(_ name: StaticString, _ build: (inout JSONLine) -> Void) {
        key(name)
        JSONLine.write(into: &bytes, build)
    }
}

extension Array where Element == UInt8 {
    public mutating func append(static text: StaticString) {
        text.withUTF8Buffer { append(contentsOf: $0) }
    }

    public mutating func append(decimal value: UInt64) {
        if value < 10 {
            append(UInt8(ascii: "0") + UInt8(value))
            return
        }
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { digits in
            var v = value
            var i = 20
            while v > 0 {
                i -= 1
                digits[i] = UInt8(ascii: "0") + UInt8(v % 10)
                v /= 10
            }
            append(contentsOf: UnsafeBufferPointer(rebasing: digits[i..<20]))
        }
    }

    /// Zero-padded to `width` digits.
    public mutating func append(decimal value: UInt64, width: Int) {
        var digits = 1
        var v = value
        while v >= 10 { v /= 10; digits += 1 }
        for _ in digits..<Swift.max(width, digits) { append(UInt8(ascii: "0")) }
        append(decimal: value)
    }

    /// A JSON string literal with escapes; valid UTF-8 passes through unchanged.
    public mutating func appendJSONQuoted(_ value: String) {
        append(UInt8(ascii: "\""))
        var value = value
        value.withUTF8 { utf8 in
            for byte in utf8 {
                switch byte {
                case UInt8(ascii: "\""): append(contentsOf: [0x5C, 0x22])
                case UInt8(ascii: "\\"): append(contentsOf: [0x5C, 0x5C])
                case 0x0A: append(contentsOf: [0x5C, UInt8(ascii: "n")])
                case 0x0D: append(contentsOf: [0x5C, UInt8(ascii: "r")])
                case 0x09: append(contentsOf: [0x5C, UInt8(ascii: "t")])
                case 0..<0x20:
                    append(static: "\\u00")
                    let hex: [UInt8] = Array("0123456789abcdef".utf8)
                    append(hex[Int(byte >> 4)])
                    append(hex[Int(byte & 0xF)])
                default: append(byte)
                }
            }
        }
        append(UInt8(ascii: "\""))
    }
}
