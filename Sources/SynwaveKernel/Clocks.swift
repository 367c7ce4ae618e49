#if canImport(Glibc)
import Glibc
#endif

public enum Clocks {
    /// CLOCK_REALTIME - CLOCK_BOOTTIME in ns: adds to a BPF timestamp to give wall-clock time.
    public static func bootToWallOffsetNs() -> Int64 {
        var boot = timespec()
        var wall = timespec()
        clock_gettime(CLOCK_BOOTTIME, &boot)
        clock_gettime(CLOCK_REALTIME, &wall)
        return (Int64(wall.tv_sec) - Int64(boot.tv_sec)) * 1_000_000_000 + Int64(wall.tv_nsec) - Int64(boot.tv_nsec)
    }

    /// CLOCK_BOOTTIME now, in ns: the clock of BPF timestamps.
    public static func bootNs() -> UInt64 {
        var boot = timespec()
        clock_gettime(CLOCK_BOOTTIME, &boot)
        return UInt64(boot.tv_sec) * 1_000_000_000 + UInt64(boot.tv_nsec)
    }
}
