import Foundation
import SynwaveCore
import SynwaveKernel
import SynwaveReport

/// The daemon's logs on disk: which files, in which order, and their lines.
struct LogFiles {
    var eventLog: String
    var metricsLog: String

    /// `--log-dir`, or the directory and names a daemon configuration gives.
    init(logDirectory: String?, config: String?) throws {
        var settings = DaemonConfig()
        if let config {
            let text: String
            // Read, and its failure said, as the daemon reads its --config.
            do { text = try Preflight.readFile(config) } catch {
                throw LogFilesError("config \(config): cannot read it: \(error)")
            }
            do throws(DaemonConfigError) { try DaemonConfigParser.apply(file: text, path: config, to: &settings) } catch {
                throw LogFilesError("\(error)")
            }
        }
        if let logDirectory {
            do throws(DaemonConfigError) {
                try DaemonConfigParser.apply(key: "log_dir", value: logDirectory, origin: "--log-dir", to: &settings)
            } catch { throw LogFilesError("\(error)") }
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: settings.logDirectory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw LogFilesError("log directory \(settings.logDirectory) does not exist (--log-dir names the daemon's log_dir)")
        }
        eventLog = settings.eventLogPath
        metricsLog = settings.metricsLogPath
    }

    /// A log's rotations, oldest first (`path.N` … `path.1`, logrotate's `path.N.gz` among
    /// them), then the log itself.
    static func rotations(of path: String) -> [String] {
        let directory = (path as NSString).deletingLastPathComponent
        let base = (path as NSString).lastPathComponent
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        var numbered: [(Int, String)] = []
        for name in names where name.hasPrefix(base + ".") {
            var rest = name.dropFirst(base.count + 1)
            if rest.hasSuffix(".gz") { rest = rest.dropLast(3) }
            guard let n = Int(rest) else { continue }
            numbered.append((n, directory + "/" + name))
        }
        var files = numbered.sorted { ($0.0, $1.1) > ($1.0, $0.1) }.map(\.1)
        if FileManager.default.fileExists(atPath: path) { files.append(path) }
        return files
    }

    /// Each line without its newline; a last line without one comes with `complete` false.
    /// With `containing`, only lines holding one of those byte strings. `.gz` files are
    /// decompressed as they are read.
    static func eachLine(_ path: String, containing keys: [[UInt8]]? = nil, chunk: Int = 8 << 20,
                         _ body: (Data, _ complete: Bool) -> Void) throws {
        let read: () throws -> [UInt8]
        if path.hasSuffix(".gz") {
            let gzip = try GzipFile(path: path)
            read = { try gzip.read(upTo: chunk) }
        } else {
            guard let handle = FileHandle(forReadingAtPath: path) else {
                throw LogFilesError("cannot open \(path): \(String(cString: strerror(errno)))")
            }
            read = {
                do { return Array(try handle.read(upToCount: chunk) ?? Data()) } catch {
                    throw LogFilesError("cannot read \(path): \((error as NSError).localizedDescription)")
                }
            }
        }
        var buffer: [UInt8] = []
        while true {
            let data = try read()
            if data.isEmpty { break }
            buffer.append(contentsOf: data)
            let consumed = buffer.withUnsafeBytes { raw -> Int in
                var start = 0
                while start < raw.count, let found = memchr(raw.baseAddress! + start, 0x0A, raw.count - start) {
                    let end = UnsafeRawPointer(found) - raw.baseAddress!
                    let line = UnsafeRawBufferPointer(rebasing: raw[start..<end])
                    if keys?.contains(where: { ByteSearch.contains($0, in: line) }) ?? true { body(Data(line), true) }
                    start = end + 1
                }
                return start
            }
            buffer.removeFirst(consumed)
        }
        if !buffer.isEmpty { body(Data(buffer), false) }
    }
}

struct LogFilesError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
