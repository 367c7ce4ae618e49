import CZlib
import Foundation

/// A gzip file opened for reading (logrotate's compressed rotations), closed with its owner.
final class GzipFile {
    private let file: gzFile
    let path: String

    init(path: String) throws {
        guard let file = gzopen(path, "rb") else {
            throw LogFilesError("cannot open \(path): \(String(cString: strerror(errno)))")
        }
        self.file = file
        self.path = path
        _ = gzbuffer(file, 1 << 20)
    }

    deinit { gzclose(file) }

    /// Up to `count` decompressed bytes; empty at the end.
    func read(upTo count: Int) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        let got = bytes.withUnsafeMutableBytes { gzread(file, $0.baseAddress, UInt32(count)) }
        guard got >= 0 else {
            var code: Int32 = 0
            let message = gzerror(file, &code).map { String(cString: $0) } ?? "error \(code)"
            throw LogFilesError("cannot read \(path): \(message)")
        }
        bytes.removeLast(count - Int(got))
        return bytes
    }
}
