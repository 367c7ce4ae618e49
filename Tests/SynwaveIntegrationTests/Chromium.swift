import Foundation

/// Debian's chromium, headless: a page's DOM after rendering, and a screenshot of it.
enum Chromium {
    static let binary = "/usr/bin/chromium"

    /// Root needs --no-sandbox; a throwaway profile keeps it out of $HOME.
    private static func arguments(_ profile: String) -> [String] {
        ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars", "--no-first-run",
         "--user-data-dir=\(profile)"]
    }

    static func renderedDOM(of page: String, profile: String) throws -> String {
        let result = try run(binary, arguments(profile) + ["--dump-dom", "file://\(page)"], seconds: 90)
        guard result.status == 0, result.stdout.contains("</html>") else {
            throw HarnessError("chromium --dump-dom \(page) failed (\(result.status)): \(result.stderr.suffix(2000))")
        }
        return result.stdout
    }

    static func screenshot(of page: String, to png: String, width: Int = 1100, height: Int, profile: String) throws {
        let result = try run(binary, arguments(profile) + ["--window-size=\(width),\(height)", "--screenshot=\(png)", "file://\(page)"],
                             seconds: 90)
        guard result.status == 0, FileManager.default.fileExists(atPath: png) else {
            throw HarnessError("chromium --screenshot \(page) failed (\(result.status)): \(result.stderr.suffix(2000))")
        }
    }
}

/// The first `data-value` after `marker` in a rendered DOM.
func dataValue(_ dom: String, after marker: String) -> Int? {
    guard let start = dom.range(of: marker) else { return nil }
    let rest = dom[start.upperBound...]
    guard let value = rest.range(of: "data-value=\"") else { return nil }
    return Int(rest[value.upperBound...].prefix { $0.isNumber })
}
