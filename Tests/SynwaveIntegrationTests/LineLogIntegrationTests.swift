import Foundation
import Synchronization
import SynwaveKernel
import Testing

/// The daemon's logs on a real, tiny file system (tmpfs): a disk that fills, drops said with
/// their counts, and rotation by size that loses no line.
@Suite(.serialized, .enabled(if: Harness.isRoot, "root integration tests: they mount a tmpfs"))
struct LineLogIntegrationTests {
    /// A tmpfs of `kilobytes`, removed by `unmount()`.
    final class SmallDisk {
        let path: String

        init(kilobytes: Int) throws {
            path = NSTemporaryDirectory() + "synwave-linelog-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            let mounted = try run("/usr/bin/mount", ["-t", "tmpfs", "-o", "size=\(kilobytes)k", "synwave-test", path])
            guard mounted.status == 0 else { throw HarnessError("mount tmpfs: \(mounted.stderr)") }
        }

        /// Leaves about `kilobytes` free.
        func fill(leaving kilobytes: Int) throws {
            _ = try run("/usr/bin/dd", ["if=/dev/zero", "of=\(path)/filler", "bs=1k", "count=100000"])
            var stat = statvfs()
            statvfs(path, &stat)
            let free = Int(stat.f_bavail) * Int(stat.f_bsize)
            let keep = max(0, (try FileManager.default.attributesOfItem(atPath: path + "/filler")[.size] as? Int ?? 0) - kilobytes * 1024 + free)
            _ = truncate(path + "/filler", off_t(keep))
        }

        func unmount() {
            _ = try? run("/usr/bin/umount", [path])
            try? FileManager.default.removeItem(atPath: path)
        }
    }

    /// A numbered line of `length` bytes once `endLine()` adds its newline.
    static func line(_ number: Int, length: Int = 100) -> [UInt8] {
        let head = Array("line \(number) ".utf8)
        return head + [UInt8](repeating: UInt8(ascii: "x"), count: length - head.count - 1)
    }

    /// Where `lines` first differs from "line 0", "line 1", ...: nil when it is exactly those `count`.
    static func firstMismatch(_ lines: [String], count: Int) -> Int? {
        for (index, line) in lines.enumerated() where line != String(decoding: Self.line(index), as: UTF8.self) {
            return index
        }
        return lines.count == count ? nil : lines.count
    }

    static func lines(in file: String) -> [String] {
        ((try? String(contentsOfFile: file, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    @Test func aFullDiskTakesTheWholeLinesThatFit() throws {
        let disk = try SmallDisk(kilobytes: 256)
        defer { disk.unmount() }
        let log = LineLog(path: disk.path + "/events.log", bufferLimit: 1 << 20, report: { _ in })
        try log.open()
        try disk.fill(leaving: 20)
        for n in 0..<1000 { log.buffer += Self.line(n); log.endLine() }
        log.flush(nowNs: 1)
        let written = Self.lines(in: disk.path + "/events.log")
        #expect(written.count > 100, "about 20 KiB of lines fit: \(written.count)")
        #expect(written.count < 1000)
        #expect(written.allSatisfy { $0.utf8.count == 99 }, "no torn line")
        #expect(written.last?.hasPrefix("line \(written.count - 1) ") == true, "in order, from the first")
        #expect(log.stats.linesWritten == UInt64(written.count))
        #expect(log.stats.linesPending == UInt64(1000 - written.count))
        // Room again: the rest follows, none twice.
        try FileManager.default.removeItem(atPath: disk.path + "/filler")
        log.flush(nowNs: 3_000_000_000)
        let all = Self.lines(in: disk.path + "/events.log")
        #expect(all.count == 1000)
        #expect(Self.firstMismatch(all, count: 1000) == nil, "every line once, in order")
    }

    @Test func dropsAreSaidWithTheirCounts() throws {
        let disk = try SmallDisk(kilobytes: 64)
        defer { disk.unmount() }
        let said = Mutex<[String]>([])
        let log = LineLog(path: disk.path + "/events.log", bufferLimit: 10_000, report: { line in said.withLock { $0.append(line) } })
        try log.open()
        try disk.fill(leaving: 0)
        for n in 0..<500 { log.buffer += Self.line(n); log.endLine() }
        log.flush(nowNs: 1)
        let dropped = log.stats.linesDropped
        #expect(dropped > 0)
        let lines = said.withLock { $0 }
        #expect(lines.contains { $0.contains("cannot write") && $0.contains("No space left on device") }, "\(lines)")
        #expect(lines.contains { $0.contains("\(dropped) lines dropped") && $0.contains("\(dropped) dropped since start") }, "\(lines)")
        // Rate-limited: more drops within 10 s are said at the next report only.
        for n in 500..<600 { log.buffer += Self.line(n); log.endLine() }
        log.flush(nowNs: 2_000_000_000)
        #expect(said.withLock { $0.count } == lines.count)
        log.flush(nowNs: 12_000_000_000)
        let later = log.stats.linesDropped - dropped
        #expect(later > 0)
        #expect(said.withLock { $0 }.contains { $0.contains("\(later) lines dropped") && $0.contains("\(dropped + later) dropped since start") })
    }

    @Test func rotationBySizeKeepsEveryLineInOrder() throws {
        let disk = try SmallDisk(kilobytes: 1024)
        defer { disk.unmount() }
        let path = disk.path + "/events.log"
        let log = LineLog(path: path, bufferLimit: 1 << 20, rotation: .init(maxBytes: 10_000, keep: 10), report: { _ in })
        try log.open()
        for n in 0..<600 {
            log.buffer += Self.line(n); log.endLine()
            if n % 7 == 0 { log.flush(nowNs: UInt64(n)) }
        }
        log.flush(nowNs: 1_000)
        var files = (1...10).reversed().map { "\(path).\($0)" }.filter { FileManager.default.fileExists(atPath: $0) }
        files.append(path)
        #expect(!FileManager.default.fileExists(atPath: "\(path).11"))
        let all = files.flatMap(Self.lines(in:))
        #expect(files.count == 7, "\(files)")
        #expect(Self.firstMismatch(all, count: 600) == nil, "every line once, in order: \(all.count) lines")
        for file in files {
            let size = (try FileManager.default.attributesOfItem(atPath: file)[.size] as? Int) ?? 0
            #expect(size <= 10_000, "\(file): \(size) bytes")
        }
        #expect(log.stats.rotations == 6)

        // Past log_keep the oldest go: 2 kept.
        let small = LineLog(path: disk.path + "/metrics.log", bufferLimit: 1 << 20, rotation: .init(maxBytes: 1_000, keep: 2), report: { _ in })
        try small.open()
        for n in 0..<100 { small.buffer += Self.line(n); small.endLine(); small.flush(nowNs: UInt64(n)) }
        #expect(FileManager.default.fileExists(atPath: disk.path + "/metrics.log.2"))
        #expect(!FileManager.default.fileExists(atPath: disk.path + "/metrics.log.3"))
        #expect(Self.lines(in: disk.path + "/metrics.log").last?.hasPrefix("line 99 ") == true)
    }
}
