#if canImport(Glibc)
import Glibc
#endif

/// Unbuffered lines to stderr (the C `stderr` global is not concurrency-safe in Swift 6).
public enum StandardError {
    public static func line(_ text: String) {
        var bytes = Array(text.utf8)
        bytes.append(0x0A)
        bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = write(STDERR_FILENO, raw.baseAddress! + offset, raw.count - offset)
                if n < 0, errno == EINTR { continue }
                if n <= 0 { return }
                offset += n
            }
        }
    }
}
