/// Where formatted output goes: a growing byte array, or a `ByteCursor` over reserved memory.
/// The formatting helpers are written once against this.
public protocol ByteSink {
    mutating func append(_ byte: UInt8)
    mutating func append(bytes: UnsafeRawBufferPointer)
}

extension Array: ByteSink where Element == UInt8 {
    public mutating func append(bytes: UnsafeRawBufferPointer) {
        append(contentsOf: bytes)
    }
}

/// Writes into memory reserved up front, without the per-append uniqueness and growth checks
/// of an array: JSON records are written at every connection's end. Never writes past
/// `capacity`; `count` keeps counting, so `overflowed` tells the caller to retry with more room.
public struct ByteCursor: ByteSink {
    private let base: UnsafeMutablePointer<UInt8>
    private let capacity: Int
    public private(set) var count = 0

    init(base: UnsafeMutablePointer<UInt8>, capacity: Int) {
        self.base = base
        self.capacity = capacity
    }

    public var overflowed: Bool { count > capacity }

    @inline(__always)
    public mutating func append(_ byte: UInt8) {
        if count < capacity { base[count] = byte }
        count += 1
    }

    @inline(__always)
    public mutating func append(bytes: UnsafeRawBufferPointer) {
        if count + bytes.count <= capacity, let source = bytes.baseAddress {
            (base + count).update(from: source.assumingMemoryBound(to: UInt8.self), count: bytes.count)
        }
        count += bytes.count
    }

    public mutating func append<S: Sequence>(contentsOf bytes: S) where S.Element == UInt8 {
        let done: Void? = bytes.withContiguousStorageIfAvailable { append(bytes: UnsafeRawBufferPointer($0)) }
        if done == nil {
            for byte in bytes { append(byte) }
        }
    }

    public mutating func append(contentsOf text: String.UTF8View) {
        var text = String(text)
        text.withUTF8 { append(bytes: UnsafeRawBufferPointer($0)) }
    }
}

extension ByteSink {
    public mutating func append(static text: StaticString) {
        text.withUTF8Buffer { append(bytes: UnsafeRawBufferPointer($0)) }
    }

    public mutating func append(decimal value: UInt64) {
        if value < 10 {
            append(UInt8(ascii: "0") + UInt8(value))
            return
        }
        // 20 digits hold any UInt64; written from the end.
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)
        withUnsafeMutableBytes(of: &digits) { buffer in
            var v = value
            var i = 20
            while v > 0 {
                i -= 1
                buffer[i] = UInt8(ascii: "0") + UInt8(v % 10)
                v /= 10
            }
            append(bytes: UnsafeRawBufferPointer(rebasing: buffer[i..<20]))
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
            // Runs without anything to escape (nearly every string) are copied at once.
            var runStart = 0
            for (index, byte) in utf8.enumerated() where byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") {
                append(bytes: UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(utf8)[runStart..<index]))
                runStart = index + 1
                switch byte {
                case UInt8(ascii: "\""): append(static: "\\\"")
                case UInt8(ascii: "\\"): append(static: "\\\\")
                case 0x0A: append(static: "\\n")
                case 0x0D: append(static: "\\r")
                case 0x09: append(static: "\\t")
                default:
                    append(static: "\\u00")
                    let hex: StaticString = "0123456789abcdef"
                    hex.withUTF8Buffer { digits in
                        append(digits[Int(byte >> 4)])
                        append(digits[Int(byte & 0xF)])
                    }
                }
            }
            append(bytes: UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(utf8)[runStart...]))
        }
        append(UInt8(ascii: "\""))
    }
}
