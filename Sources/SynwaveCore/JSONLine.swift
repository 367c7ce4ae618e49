/// Writes one JSON object straight into a byte buffer: no intermediate Strings, because
/// formatting runs once per kernel event and per connection.
public struct JSONLine {
    public private(set) var bytes: ByteCursor
    private var first = true

    private init(bytes: ByteCursor) {
        self.bytes = bytes
    }

    /// Room reserved for one object at first; a larger one is written again with the room it needed.
    static let initialReserve = 1024
    private static let zeros = [UInt8](repeating: 0, count: 4096)

    /// Appends one object (no newline) to `out`, through a cursor over room reserved at its end.
    public static func write(into out: inout [UInt8], _ build: (inout JSONLine) -> Void) {
        let start = out.count
        var reserve = initialReserve
        while true {
            // From a zeroed buffer: a contiguous source is one memcpy, even unoptimized (a
            // `repeatElement` source is appended byte by byte, which made debug builds crawl).
            if reserve <= zeros.count {
                out.append(contentsOf: zeros[..<reserve])
            } else {
                out.append(contentsOf: [UInt8](repeating: 0, count: reserve))
            }
            let written = out.withUnsafeMutableBufferPointer { buffer in
                var line = JSONLine(bytes: ByteCursor(base: buffer.baseAddress! + start, capacity: reserve))
                line.bytes.append(UInt8(ascii: "{"))
                build(&line)
                line.bytes.append(UInt8(ascii: "}"))
                return line.bytes.count
            }
            if written <= reserve {
                out.removeLast(reserve - written)
                return
            }
            out.removeLast(reserve)
            reserve = written
        }
    }

    private mutating func key(_ name: StaticString) {
        bytes.appendJSONKey(name, afterAnother: !first)
        first = false
    }

    public mutating func field(_ name: StaticString, _ value: String) {
        key(name)
        bytes.appendJSONQuoted(value)
    }

    public mutating func field(_ name: StaticString, _ value: TaskName) {
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
    public mutating func field(_ name: StaticString, quoted render: (inout ByteCursor) -> Void) {
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
                                            _ render: (S.Element, inout ByteCursor) -> Void) {
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
        var nested = JSONLine(bytes: bytes)
        nested.bytes.append(UInt8(ascii: "{"))
        build(&nested)
        nested.bytes.append(UInt8(ascii: "}"))
        bytes = nested.bytes
    }
}
