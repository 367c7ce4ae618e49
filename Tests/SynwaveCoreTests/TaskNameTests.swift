import Foundation
import Testing
@testable import SynwaveCore

@Suite struct TaskNameTests {
    private func kernelName(_ bytes: [UInt8]) -> TaskName {
        var padded = bytes + [UInt8](repeating: 0, count: max(0, 16 - bytes.count))
        padded = Array(padded.prefix(16))
        return padded.withUnsafeBytes { TaskName(kernelBytes: $0) }
    }

    private func json(_ name: TaskName) throws -> String? {
        var out: [UInt8] = []
        JSONLine.write(into: &out) { o in o.field("comm", name) }
        let object = try #require(JSONSerialization.jsonObject(with: Data(out)) as? [String: Any])
        return object["comm"] as? String
    }

    @Test func kernelBytesEndAtTheFirstNul() {
        // The buffer after the NUL may hold an older, longer name.
        let name = kernelName(Array("nginx".utf8) + [0] + Array("-worker".utf8))
        #expect(name == "nginx")
        #expect(name.description == "nginx")
        #expect(!name.isEmpty && TaskName.empty.isEmpty && kernelName([]).isEmpty)
    }

    /// The word path against the byte rule: up to the first NUL, at most 15 bytes.
    @Test(arguments: 0...16) func everyNulPositionAndWhatFollows(length: Int) {
        let bytes = (0..<16).map { $0 < length ? UInt8(0x61 + $0) : $0 == length ? 0 : 0x80 | UInt8($0) }
        let name = kernelName(bytes)
        let expected = Array(bytes.prefix(min(length, 15)))
        #expect(name.withBytes { Array($0) } == expected)
        #expect(name == expected.withUnsafeBytes { TaskName(kernelBytes: $0) }, "the short path agrees")
    }

    @Test func bytesAboveTheFirstNulNeverCount() {
        // 0x01 right after a NUL is what fools the zero-byte test for later bytes.
        let name = kernelName([0x41, 0, 0x01, 0x00, 0x42, 0x01, 0, 0, 0x43, 0, 0x01, 0, 0, 0, 0, 0])
        #expect(name == "A")
    }

    @Test func textIsCutToTheKernelsFifteenBytes() {
        let name = TaskName("a-very-long-process-name")
        #expect(name.description == "a-very-long-pro")
        #expect(name == kernelName(Array("a-very-long-pro".utf8)))
    }

    @Test func jsonEscapesAndRepairsWhatTheKernelAllows() throws {
        // prctl(PR_SET_NAME) accepts any bytes but NUL.
        #expect(try json("plain") == "plain")
        #expect(try json(kernelName(Array("a\"b\\c\n".utf8))) == "a\"b\\c\n")
        #expect(try json("café") == "café")
        #expect(try json(kernelName([0xff, 0x41])) == "\u{FFFD}A")
    }

    @Test func textColumnsRepairInvalidUTF8() {
        var out: [UInt8] = []
        out.append(taskName: kernelName([0x41, 0xc3]))
        #expect(String(decoding: out, as: UTF8.self) == "A\u{FFFD}")
        out = []
        out.append(taskName: "curl")
        #expect(out == Array("curl".utf8))
    }

    @Test func isAPlainValue() {
        #expect(_isPOD(TaskName.self))
        // Copied several times per kernel event, and stored per tracked socket: no reference counting.
        #expect(_isPOD(KernelEvent.self))
        #expect(_isPOD(SocketMachine.self))
    }
}
