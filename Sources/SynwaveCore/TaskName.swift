/// A task's name (comm) as the kernel keeps it: at most 15 bytes, NUL-padded to 16.
///
/// Stored inline as two words rather than as a `String`, so that the events and socket
/// machines holding one are plain values: copying them (several times per kernel event) is a
/// memcpy, with no reference counting. Bytes are kept as the kernel gave them; text made
/// from them repairs invalid UTF-8.
public struct TaskName: Hashable, Sendable, ExpressibleByStringLiteral, CustomStringConvertible {
    public static let capacity = 15

    private var low: UInt64 = 0
    private var high: UInt64 = 0

    public static let empty = TaskName()

    private init() {}

    /// The bytes up to the first NUL (at most 15): what follows the name in the kernel's
    /// buffer is not part of it.
    public init(kernelBytes raw: UnsafeRawBufferPointer) {
        if raw.count >= 16 {
            // The decoder's path, once per kernel event: whole words, the NUL found by bit tricks.
            low = raw.loadUnaligned(as: UInt64.self).littleEndian
            high = raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self).littleEndian & 0x00ff_ffff_ffff_ffff
            if let end = Self.firstZeroByte(low) {
                low &= Self.bytesBelow(end)
                high = 0
            } else if let end = Self.firstZeroByte(high) {
                high &= Self.bytesBelow(end)
            }
            (low, high) = (UInt64(littleEndian: low), UInt64(littleEndian: high))
            return
        }
        withUnsafeMutableBytes(of: &self) { name in
            for index in 0..<min(raw.count, Self.capacity) {
                let byte = raw[index]
                if byte == 0 { break }
                name[index] = byte
            }
        }
    }

    /// A name from text, cut to the kernel's 15 bytes (as `prctl(PR_SET_NAME)` would).
    public init(_ text: String) {
        var text = text
        self = text.withUTF8 { TaskName(kernelBytes: UnsafeRawBufferPointer($0)) }
    }

    /// Index of the lowest zero byte of a little-endian word. The classic test flags the lowest
    /// zero byte exactly (only bytes above it can be flagged falsely).
    private static func firstZeroByte(_ word: UInt64) -> Int? {
        let flags = (word &- 0x0101_0101_0101_0101) & ~word & 0x8080_8080_8080_8080
        return flags == 0 ? nil : flags.trailingZeroBitCount / 8
    }

    /// A mask of the bytes below byte `index`.
    private static func bytesBelow(_ index: Int) -> UInt64 {
        index == 0 ? 0 : (1 << UInt64(index * 8)) &- 1
    }

    public init(stringLiteral value: String) {
        self.init(value)
    }

    /// The first byte is NUL (`low` holds the bytes in memory order).
    public var isEmpty: Bool { low.littleEndian & 0xff == 0 }

    /// The name's bytes (without padding), valid for the duration of `body`.
    public func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try withUnsafeBytes(of: self) { raw in
            try body(UnsafeRawBufferPointer(rebasing: raw[0..<(raw.firstIndex(of: 0) ?? raw.count)]))
        }
    }

    /// Every byte is ASCII: the bytes are already valid UTF-8, as they are.
    var isASCII: Bool { (low | high) & 0x8080_8080_8080_8080 == 0 }

    public var description: String {
        withBytes { String(decoding: $0, as: UTF8.self) }
    }
}

extension ByteSink {
    /// The name as text; invalid UTF-8 is repaired.
    public mutating func append(taskName name: TaskName) {
        if name.isASCII {
            name.withBytes { append(bytes: $0) }
        } else {
            var text = name.description
            text.withUTF8 { append(bytes: UnsafeRawBufferPointer($0)) }
        }
    }

    /// The name as a JSON string literal.
    public mutating func appendJSONQuoted(_ name: TaskName) {
        if name.isASCII {
            name.withBytes { appendJSONQuoted(utf8: $0.assumingMemoryBound(to: UInt8.self)) }
        } else {
            appendJSONQuoted(name.description)
        }
    }
}
