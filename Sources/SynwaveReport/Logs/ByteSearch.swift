import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Substring search in a line's bytes with memchr and memcmp (glibc's memmem needs _GNU_SOURCE,
/// which Swift's Glibc module does not define): Foundation's generic `firstRange(of:)` went byte
/// by byte through Data's subscript, about 100 times slower.
public enum ByteSearch {
    /// The offset (from the start of `bytes`) just past `needle`'s first occurrence in the first `limit` bytes.
    public static func end(of needle: [UInt8], in bytes: UnsafeRawBufferPointer, limit: Int = .max) -> Int? {
        let length = min(bytes.count, limit)
        guard length >= needle.count, let base = bytes.baseAddress else { return nil }
        return needle.withUnsafeBytes { n -> Int? in
            var offset = 0
            while length - offset >= n.count,
                  let hit = memchr(base + offset, Int32(n[0]), length - offset - n.count + 1) {
                let at = UnsafeRawPointer(hit) - base
                if memcmp(hit, n.baseAddress!, n.count) == 0 { return at + n.count }
                offset = at + 1
            }
            return nil
        }
    }

    public static func contains(_ needle: [UInt8], in bytes: UnsafeRawBufferPointer) -> Bool {
        end(of: needle, in: bytes) != nil
    }
}
