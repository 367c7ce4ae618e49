import Foundation
import Testing
@testable import SynwaveCore

@Suite struct JSONLineTests {
    private func object(_ bytes: [UInt8]) throws -> [String: Any] {
        try #require(JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
    }

    @Test func objectLargerThanTheFirstReservationIsWrittenWhole() throws {
        let long = String(repeating: "x", count: JSONLine.initialReserve * 3)
        var out: [UInt8] = Array("prefix ".utf8)
        JSONLine.write(into: &out) { o in
            o.field("a", UInt64(1))
            o.field("long", long)
            o.object("nested") { n in n.field("b", UInt64.max) }
        }
        #expect(out.starts(with: Array("prefix ".utf8)))
        let parsed = try object(Array(out.dropFirst(7)))
        #expect(parsed["long"] as? String == long)
        #expect((parsed["nested"] as? [String: Any])?["b"] as? UInt64 == UInt64.max)
    }

    @Test func escapesBetweenPlainRuns() throws {
        let text = "plain\"quote\\slash\tand\u{7}bell, then é and 🙂 unchanged"
        var out: [UInt8] = []
        JSONLine.write(into: &out) { o in o.field("s", text) }
        #expect(try object(out)["s"] as? String == text)
        #expect(String(decoding: out, as: UTF8.self).contains("\\u0007"))
    }

    @Test func cursorNeverWritesPastItsCapacity() {
        var storage = [UInt8](repeating: 0xAA, count: 8)
        let count = storage.withUnsafeMutableBufferPointer { buffer in
            var cursor = ByteCursor(base: buffer.baseAddress!, capacity: 4)
            cursor.append(static: "abcdefgh")
            cursor.append(decimal: 12345)
            #expect(cursor.overflowed)
            return cursor.count
        }
        #expect(count == 13)
        #expect(storage[4...].allSatisfy { $0 == 0xAA })
    }
}

@Suite struct DecimalTests {
    static let values: [UInt64] = [0, 1, 9, 10, 11, 99, 100, 101, 999, 1000, 65535, 4_026_531_840,
                                   1_700_000_000_123_456_789, 9_999_999_999_999_999_999, 10_000_000_000_000_000_000, .max]
        + (0..<20).map { (0..<$0).reduce(UInt64(1)) { p, _ in p * 10 } }
        + (1..<20).map { (0..<$0).reduce(UInt64(1)) { p, _ in p * 10 } - 1 }

    @Test(arguments: values) func cursorAndArrayWriteTheSameDigits(value: UInt64) {
        var array: [UInt8] = []
        array.append(decimal: value)
        #expect(String(decoding: array, as: UTF8.self) == String(value))
        var cursorBytes: [UInt8] = []
        JSONLine.write(into: &cursorBytes) { o in o.field("n", value) }
        #expect(String(decoding: cursorBytes, as: UTF8.self) == "{\"n\":\(value)}")
        #expect(ByteCursor.decimalLength(value) == String(value).count)
    }

    @Test func digitsPastTheReservedRoomAreCountedNotWritten() {
        var room = [UInt8](repeating: 0, count: 4)
        room.withUnsafeMutableBufferPointer { buffer in
            var cursor = ByteCursor(base: buffer.baseAddress!, capacity: 4)
            cursor.append(decimal: 123_456)
            #expect(cursor.count == 6 && cursor.overflowed)
        }
        #expect(room == [0, 0, 0, 0])
    }
}

@Suite struct ByteCursorTests {
    /// Every length around the word-copy thresholds lands whole, and nothing past it is touched.
    @Test(arguments: 0...40) func appendsEveryLengthExactly(length: Int) {
        let source = (0..<length).map { UInt8(truncatingIfNeeded: 0x41 + $0) }
        var room = [UInt8](repeating: 0xee, count: 64)
        let written = room.withUnsafeMutableBufferPointer { buffer in
            var cursor = ByteCursor(base: buffer.baseAddress! + 3, capacity: 50)
            cursor.append(UInt8(ascii: "<"))
            source.withUnsafeBytes { cursor.append(bytes: $0) }
            cursor.append(UInt8(ascii: ">"))
            return cursor.count
        }
        #expect(written == length + 2)
        #expect(Array(room[0..<3]) == [0xee, 0xee, 0xee])
        #expect(Array(room[3..<(5 + length)]) == [UInt8(ascii: "<")] + source + [UInt8(ascii: ">")])
        #expect(room[(5 + length)...].allSatisfy { $0 == 0xee })
    }
}

extension ByteCursorTests {
    @Test func staticTextOfEveryRepresentation() {
        var room = [UInt8](repeating: 0, count: 16)
        let written = room.withUnsafeMutableBufferPointer { buffer in
            var cursor = ByteCursor(base: buffer.baseAddress!, capacity: 16)
            let scalar: StaticString = "é"
            cursor.append(static: "ab")
            cursor.append(static: scalar)
            cursor.append(static: "")
            cursor.append(static: "c")
            return cursor.count
        }
        #expect(Array(room[..<written]) == Array("abéc".utf8))
    }
}

extension JSONLineTests {
    /// Keys short and long (the word copies end at 16 bytes), first and not, and a one-character key.
    @Test func keysOfEveryLengthBetweenFields() throws {
        var out: [UInt8] = []
        JSONLine.write(into: &out) { o in
            o.field("a", UInt64(1))
            o.field("sport", UInt64(2))
            o.field("first_seen_mid_life", bool: true)
            o.field("sixteen_byte_key", UInt64(3))
            o.object("nested") { n in n.field("b", UInt64(4)) }
        }
        #expect(String(decoding: out, as: UTF8.self)
            == #"{"a":1,"sport":2,"first_seen_mid_life":true,"sixteen_byte_key":3,"nested":{"b":4}}"#)
    }

    @Test func aKeyPastTheReservedRoomIsCountedNotWritten() {
        var room = [UInt8](repeating: 0xee, count: 8)
        room.withUnsafeMutableBufferPointer { buffer in
            var cursor = ByteCursor(base: buffer.baseAddress!, capacity: 6)
            cursor.appendJSONKey("handshake_us", afterAnother: true)
            #expect(cursor.count == 16 && cursor.overflowed)
        }
        #expect(room.allSatisfy { $0 == 0xee })
    }
}
