import CLibbpf
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Captures libbpf's messages instead of letting it print to stderr: a failed tp_btf attempt
/// in auto mode is expected on some kernels and must not alarm the user. The lines are kept
/// (bounded) and attached to the next `BPFError`.
public enum LibbpfLog {
    private static let lines = Mutex<[String]>([])
    private static let limit = 400
    /// Also echo every message to stderr (`--verbose`).
    public static let echo = Atomic<Bool>(false)

    static func install() {
        libbpf_set_print { level, format, args in
            guard let format, let args else { return 0 }
            // One message can hold a whole verifier log.
            var buffer = [CChar](repeating: 0, count: 256 * 1024)
            let written = vsnprintf(&buffer, buffer.count, format, args)
            guard written > 0 else { return 0 }
            let text = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            for line in text.split(separator: "\n") {
                if LibbpfLog.echo.load(ordering: .relaxed) {
                    StandardError.line("libbpf: \(line)")
                }
                if level != LIBBPF_DEBUG { LibbpfLog.append(String(line)) }
            }
            return 0
        }
    }

    static func append(_ line: String) {
        lines.withLock {
            $0.append(line)
            if $0.count > limit { $0.removeFirst($0.count - limit) }
        }
    }

    /// Returns and forgets what was captured.
    static func take() -> [String] {
        lines.withLock { lines in
            defer { lines.removeAll() }
            return lines
        }
    }
}
