#if canImport(Glibc)
import Glibc
#endif

/// Unbuffered lines to stderr (the C `stderr` global is not concurrency-safe in Swift 6).
public enum StandardError {
    public static func line(_ text: String) {
        var bytes = Array(text.utf8)
        bytes.append(0x0A)
        _ = bytes.withUnsafeBytes { writeAll(STDERR_FILENO, $0) }
    }
}
