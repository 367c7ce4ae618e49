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
