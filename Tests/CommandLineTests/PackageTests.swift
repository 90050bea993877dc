import Foundation
import TestSupport
import Testing

/// `scripts/package` on the tools this test build made (the debug ones: no release build here), unpacked into a
/// scratch root with `dpkg-deb -x`: what a user installing the .deb gets.
@Suite("scripts/package: the Debian package of the built tools")
struct PackageTests {
    static let tools = ["mongo-schema", "mongo-reader", "psql-copy", "oplog-sync", "etlstatus"]

    struct Outcome {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// Runs `executable` to completion on a thread of its own (never one of the cooperative pool's), its output
    /// going through files, so neither stream can fill a pipe and block it.
    static func run(_ executable: String, _ arguments: [String]) async throws -> Outcome {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(
                    with: Result {
                        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent(
                            "package-run-\(UUID().uuidString)")
                        let out = scratch.appendingPathExtension("out"), err = scratch.appendingPathExtension("err")
                        FileManager.default.createFile(atPath: out.path, contents: nil)
                        FileManager.default.createFile(atPath: err.path, contents: nil)
                        defer { for file in [out, err] { try? FileManager.default.removeItem(at: file) } }
                        let process = Process()
                        process.executableURL = URL(fileURLWithPath: executable)
                        process.arguments = arguments
                        process.standardOutput = try FileHandle(forWritingTo: out)
                        process.standardError = try FileHandle(forWritingTo: err)
                        try process.run()
                        process.waitUntilExit()
                        return Outcome(
                            status: process.terminationStatus, stdout: try String(contentsOf: out, encoding: .utf8),
                            stderr: try String(contentsOf: err, encoding: .utf8))
                    })
            }
        }
    }

    /// The package's control field `name` (`dpkg-deb -f`).
    static func controlField(_ name: String, of deb: String) async throws -> String {
        let field = try await run("/usr/bin/dpkg-deb", ["-f", deb, name])
        try #require(field.status == 0, "\(field.stderr)")
        return field.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func text(_ root: URL, _ path: String) throws -> String {
        try String(contentsOf: root.appendingPathComponent(path), encoding: .utf8)
    }

    @Test(
        "the .deb depends on the runtime libraries, holds man pages, completions, units and the sample configuration, and its tools run"
    )
    func debianPackage() async throws {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("package-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let package = ServerEnvironment.packageRoot.appendingPathComponent("scripts/package").path
        let built = try await Self.run(
            package,
            ["--bin-dir", Binaries.directory.path, "--output", scratch.path, "--compression", "gzip"])
        try #require(built.status == 0, "\(built.stderr)")
        let deb = built.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(deb.hasPrefix(scratch.path) && deb.hasSuffix(".deb"), "stdout names the package: \(built.stdout)")

        #expect(try await Self.controlField("Package", of: deb) == "mongo-pg-sync")
        // The package's version is the tools' own (`--version`, one number for all five).
        let packageVersion = try await Self.controlField("Version", of: deb)
        // `libpq5 (>= 9.0~), libc6 (>= 2.34)`: the package names, versions aside.
        let depends = Set(
            try await Self.controlField("Depends", of: deb).split(separator: ",").map {
                String($0.trimmingCharacters(in: .whitespaces).prefix { $0 != " " })
            })
        for library in ["libmongoc-1.0-0", "libbson-1.0-0", "libpq5", "libjemalloc2"] {
            #expect(depends.contains(library), "Depends: \(depends.sorted())")
        }

        let root = scratch.appendingPathComponent("root")
        let extracted = try await Self.run("/usr/bin/dpkg-deb", ["-x", deb, root.path])
        try #require(extracted.status == 0, "\(extracted.stderr)")

        for tool in Self.tools {
            let binary = root.appendingPathComponent("usr/bin/\(tool)").path
            #expect(FileManager.default.isExecutableFile(atPath: binary), "\(tool)")
            for completion in [
                "usr/share/bash-completion/completions/\(tool)", "usr/share/zsh/site-functions/_\(tool)",
                "usr/share/fish/vendor_completions.d/\(tool).fish",
            ] {
                #expect(try Self.text(root, completion).contains(tool), "\(completion)")
            }
            let page = try await Self.run(
                "/bin/gzip", ["-dc", root.appendingPathComponent("usr/share/man/man1/\(tool).1.gz").path])
            #expect(page.status == 0, "\(page.stderr)")
            #expect(page.stdout.contains(".TH \"\(tool.uppercased())\" \"1\""), "\(tool).1")
            #expect(page.stdout.contains(".SH \"EXIT STATUS\""), "\(tool).1")

            let help = try await Self.run(binary, ["--help"])
            #expect(help.status == 0, "\(tool) --help: \(help.stderr)")
            #expect(help.stdout.contains("USAGE: \(tool)"), "\(tool) --help: \(help.stdout)")
            let version = try await Self.run(binary, ["--version"])
            #expect(version.status == 0, "\(tool) --version: \(version.stderr)")
            #expect(version.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == packageVersion, "\(tool)")
        }
        let etlstatusPage = try await Self.run(
            "/bin/gzip", ["-dc", root.appendingPathComponent("usr/share/man/man1/etlstatus.1.gz").path])
        for subcommand in [
            "init-load-start", "init-load-finish", "init-load-status", "lag", "check", "freshness", "runs", "verify",
            "metrics", "config",
        ] {
            #expect(etlstatusPage.stdout.contains(".SS \"\(subcommand.replacingOccurrences(of: "-", with: "\\-"))\""))
        }

        let units = "usr/lib/systemd/system"
        let follow = try Self.text(root, "\(units)/oplog-sync.service")
        #expect(follow.contains("ExecStart=/usr/bin/oplog-sync --follow --config /etc/mongo-pg-sync/sync.ini\n"))
        #expect(follow.contains("Restart=on-failure\n"))
        #expect(follow.contains("RestartPreventExitStatus=1 3 64 78\n"))
        let batch = try Self.text(root, "\(units)/oplog-sync-batch.service")
        #expect(batch.contains("Type=oneshot\n"))
        #expect(batch.contains("ExecStart=/usr/bin/oplog-sync --config /etc/mongo-pg-sync/sync.ini\n"))
        #expect(try Self.text(root, "\(units)/oplog-sync-batch.timer").contains("Unit=oplog-sync-batch.service\n"))

        let documentation = "usr/share/doc/mongo-pg-sync"
        let sampleConfig = try String(
            contentsOf: ServerEnvironment.packageRoot.appendingPathComponent("sample-config.ini"), encoding: .utf8)
        #expect(try Self.text(root, "\(documentation)/sample-config.ini") == sampleConfig)
        #expect(try Self.text(root, "\(documentation)/schemas/sample_analytics.customers.json").contains("\"_id\""))
    }
}
