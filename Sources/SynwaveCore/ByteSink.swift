/// Where formatted output goes: a growing byte array, or a `ByteCursor` over reserved memory.
/// The formatting helpers are written once against this.
public protocol ByteSink {
    mutating func append(_ byte: UInt8)
    mutating func append(bytes: UnsafeRawBufferPointer)
    mutating func append(decimal value: UInt64)
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
        let length = bytes.count
        if count + length <= capacity, let source = bytes.baseAddress {
            Self.copySmallOrMore(from: source, to: UnsafeMutableRawPointer(base + count), count: length)
        }
        count += length
    }

    /// JSON keys and literals, without the closure of `withUTF8Buffer` (a one-character
    /// literal may be stored as a scalar, not as bytes: that one takes the closure).
    @inline(__always)
    public mutating func append(static text: StaticString) {
        if text.hasPointerRepresentation {
            append(bytes: UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
        } else {
            text.withUTF8Buffer { append(bytes: UnsafeRawBufferPointer($0)) }
        }
    }

    /// `,"name":` (the comma only after another field), checked and counted once: most of a
    /// connection record's bytes are its 45 keys.
    @inline(__always)
    mutating func appendJSONKey(_ name: StaticString, afterAnother: Bool) {
        guard name.hasPointerRepresentation else {
            if afterAnother { append(UInt8(ascii: ",")) }
            append(UInt8(ascii: "\""))
            append(static: name)
            append(static: "\":")
            return
        }
        let comma = afterAnother ? 1 : 0
        let length = name.utf8CodeUnitCount + 3 + comma
        if count + length <= capacity {
            let target = base + count
            target[0] = UInt8(ascii: ",")
            target[comma] = UInt8(ascii: "\"")
            Self.copySmallOrMore(from: UnsafeRawPointer(name.utf8Start), to: UnsafeMutableRawPointer(target + comma + 1),
                                 count: name.utf8CodeUnitCount)
            target[length - 2] = UInt8(ascii: "\"")
            target[length - 1] = UInt8(ascii: ":")
        }
        count += length
    }

    @inline(__always)
    private static func copySmallOrMore(from source: UnsafeRawPointer, to target: UnsafeMutableRawPointer, count: Int) {
        if count <= 16 {
            copySmall(from: source, to: target, count: count)
        } else {
            target.copyMemory(from: source, byteCount: count)
        }
    }

    /// Keys, short names and numbers: two possibly overlapping words instead of a libc call
    /// (a byte loop would be turned back into one by the optimizer).
    @inline(__always)
    private static func copySmall(from source: UnsafeRawPointer, to target: UnsafeMutableRawPointer, count: Int) {
        if count >= 8 {
            target.storeBytes(of: source.loadUnaligned(as: UInt64.self), as: UInt64.self)
            target.storeBytes(of: source.loadUnaligned(fromByteOffset: count - 8, as: UInt64.self),
                              toByteOffset: count - 8, as: UInt64.self)
        } else if count >= 4 {
            target.storeBytes(of: source.loadUnaligned(as: UInt32.self), as: UInt32.self)
            target.storeBytes(of: source.loadUnaligned(fromByteOffset: count - 4, as: UInt32.self),
                              toByteOffset: count - 4, as: UInt32.self)
        } else if count > 0 {
            target.storeBytes(of: source.load(as: UInt8.self), as: UInt8.self)
            target.storeBytes(of: source.load(fromByteOffset: count / 2, as: UInt8.self), toByteOffset: count / 2, as: UInt8.self)
            target.storeBytes(of: source.load(fromByteOffset: count - 1, as: UInt8.self), toByteOffset: count - 1, as: UInt8.self)
        }
    }

    /// Digits written straight into the reserved room, two per division: numbers are most of
    /// a connection record's bytes, and a copy from a scratch buffer is a libc call each.
    public mutating func append(decimal value: UInt64) {
        let length = Self.decimalLength(value)
        if count + length <= capacity {
            var rest = value
            var end = base + count + length
            while rest >= 100 {
                let pair = rest % 100
                rest /= 100
                end -= 2
                end[0] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: pair / 10)
                end[1] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: pair % 10)
            }
            if rest >= 10 {
                end -= 2
                end[0] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: rest / 10)
                end[1] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: rest % 10)
            } else {
                end -= 1
                end[0] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: rest)
            }
        }
        count += length
    }

    /// Decimal digits of `value` (1 for 0), from its bit length: log10(2) ≈ 1233 / 4096.
    static func decimalLength(_ value: UInt64) -> Int {
        let estimate = ((64 - value.leadingZeroBitCount) * 1233) >> 12
        return max(1, estimate + (value >= powersOfTen[estimate] ? 1 : 0))
    }

    /// 10^0 ... 10^19, as a literal: the compiler lays it out statically, with no lazy
    /// initialization check at each use.
    private static let powersOfTen: [UInt64] = [
        1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000, 1_000_000_000,
        10_000_000_000, 100_000_000_000, 1_000_000_000_000, 10_000_000_000_000, 100_000_000_000_000,
        1_000_000_000_000_000, 10_000_000_000_000_000, 100_000_000_000_000_000, 1_000_000_000_000_000_000,
        10_000_000_000_000_000_000,
    ]

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
        let digits = ByteCursor.decimalLength(value)
        for _ in digits..<Swift.max(width, digits) { append(UInt8(ascii: "0")) }
        append(decimal: value)
    }

    /// A JSON string literal with escapes; valid UTF-8 passes through unchanged.
    public mutating func appendJSONQuoted(_ value: String) {
        var value = value
        value.withUTF8 { appendJSONQuoted(utf8: $0) }
    }

    /// The same from bytes already known to be valid UTF-8.
    mutating func appendJSONQuoted(utf8: UnsafeBufferPointer<UInt8>) {
        append(UInt8(ascii: "\""))
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
        append(UInt8(ascii: "\""))
    }
}
