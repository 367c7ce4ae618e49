#if canImport(Glibc)
import Glibc
#endif

/// One entry of a directory, as readdir(3) gives it: no stat per entry.
struct DirectoryEntry: Sendable {
    var name: String
    var inode: UInt64
    var isDirectory: Bool
}

/// The entries of `directory` but `.` and `..`; none when it cannot be opened (gone, or not ours).
func directoryEntries(_ directory: String) -> [DirectoryEntry] {
    guard let dir = opendir(directory) else { return [] }
    defer { closedir(dir) }
    var entries: [DirectoryEntry] = []
    while let entry = readdir(dir) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
            String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
        }
        if name == "." || name == ".." { continue }
        entries.append(DirectoryEntry(name: name, inode: UInt64(entry.pointee.d_ino),
                                      isDirectory: entry.pointee.d_type == UInt8(DT_DIR)))
    }
    return entries
}
