import Foundation
import TestSupport
import Testing

@testable import MongoPG

/// `PostgresError.exitStatus`, the one place SQLSTATEs become exit codes: the table itself, then the real server's
/// answers for each outcome the tools can meet.
@Suite("SQLSTATE to exit status")
struct PostgresErrorTests {
    @Test(
        "each SQLSTATE class the tools can meet maps to its exit status",
        arguments: [
            ("23505", MongoPG.ExitStatus.dataError), ("23502", .dataError), ("22P02", .dataError),
            ("22012", .dataError),
            ("42501", .unavailable), ("55P03", .locked), ("40P01", .locked), ("40001", .locked),
            ("2BP01", .configError), ("54011", .configError), ("54000", .dataError), ("57014", .unavailable),
            ("57P01", .unavailable), ("08006", .unavailable), ("53100", .unavailable), ("42601", .internalError),
            ("42P01", .internalError), ("XX000", .internalError),
        ])
    func table(sqlState: String, status: MongoPG.ExitStatus) {
        let error = PostgresError(kind: .statement, purpose: "test", sqlState: sqlState, serverMessage: "m")
        #expect(error.exitStatus == status)
        #expect(PostgresError(kind: .copy, purpose: "t", sqlState: sqlState, serverMessage: "m").exitStatus == status)
    }

    @Test("connect and lock kinds keep their status whatever the SQLSTATE; no SQLSTATE at all is a bug (70)")
    func kinds() {
        let connect = PostgresError(kind: .connect, purpose: "c", sqlState: "42501", serverMessage: "")
        #expect(connect.exitStatus == .unavailable)
        #expect(PostgresError(kind: .lockHeld, purpose: "l", serverMessage: "").exitStatus == .locked)
        #expect(PostgresError(kind: .statement, purpose: "s", serverMessage: "").exitStatus == .internalError)
    }

    @Test("the function a server error arose in is read from its CONTEXT: a user's, since the tools call none")
    func userFunction() {
        func error(_ context: String?) -> PostgresError {
            PostgresError(
                kind: .statement, purpose: "apply", sqlState: "P0001", serverMessage: "no", context: context)
        }
        #expect(error("PL/pgSQL function reject_all() line 3 at RAISE").userFunction == "reject_all")
        #expect(error("PL/pgSQL function tgt.reject(integer) line 1 at RAISE").userFunction == "tgt.reject")
        #expect(error("SQL function \"check_it\" statement 1").userFunction == "check_it")
        #expect(error("COPY customers, line 3").userFunction == nil)
        #expect(error(nil).userFunction == nil)
    }

    @Test("a user's trigger that raises, a dropped column or table are 78 naming them; other errors stay as they are")
    func syncedTableErrors() async {
        let raised = PostgresError(
            kind: .statement, purpose: "apply batch", sqlState: "P0001", serverMessage: "no writes here",
            context: "PL/pgSQL function tgt.reject() line 3 at RAISE")
        let trigger = await SyncedTableError.explaining(raised, reload: "reload") { function in
            #expect(function == "tgt.reject")
            return [("refuse", "tgt.customers")]
        }
        #expect(trigger.exitStatus == .configError)
        #expect("\(trigger)".contains("trigger refuse on table tgt.customers (function tgt.reject) refused a write"))
        #expect("\(trigger)".contains("ALTER TABLE tgt.customers DISABLE TRIGGER refuse"))
        struct Unreachable: Error {}
        let unnamed = await SyncedTableError.explaining(raised, reload: "reload") { _ in throw Unreachable() }
        #expect("\(unnamed)".contains("a trigger calling function tgt.reject refused a write"))

        let dropped = PostgresError(
            kind: .statement, purpose: "read back", sqlState: "42703", serverMessage: "column \"name\" does not exist")
        let missing = await SyncedTableError.explaining(dropped, reload: "the reload steps") { _ in [] }
        #expect(missing.exitStatus == .configError)
        #expect("\(missing)".contains("a column of a synced table is missing"))
        #expect("\(missing)".contains("column \"name\" does not exist"))
        #expect("\(missing)".contains("the reload steps"))

        let other = PostgresError(kind: .statement, purpose: "p", sqlState: "42601", serverMessage: "syntax")
        #expect(await SyncedTableError.explaining(other, reload: "") { _ in [] }.exitStatus == .internalError)
        let lock = PostgresError(kind: .lockHeld, purpose: "p", sqlState: "42703", serverMessage: "")
        #expect(await SyncedTableError.explaining(lock, reload: "") { _ in [] }.exitStatus == .locked)
    }

    @Test("42501 names the privilege the role lacks")
    func privilegeHint() {
        let database = PostgresError(
            kind: .statement, purpose: "create the staging schema", sqlState: "42501",
            serverMessage: "permission denied for database sync")
        #expect(database.description.contains("CREATE privilege on database sync"))
        let schema = PostgresError(
            kind: .statement, purpose: "create", sqlState: "42501", serverMessage: "permission denied for schema tgt")
        #expect(schema.description.contains("USAGE or CREATE privilege on schema tgt"))
        let owner = PostgresError(
            kind: .statement, purpose: "swap", sqlState: "42501", serverMessage: "must be owner of table customers")
        #expect(owner.description.contains("must own table"))
    }
}

@Suite("SQLSTATE to exit status, from the real server", .tags(.integration))
struct PostgresErrorServerTests {
    /// The error `sql` raises on `session`.
    static func failure(_ sql: String, on session: PostgresSession) async throws -> PostgresError {
        try await #require(throws: PostgresError.self) { try await session.execute(sql, purpose: "test") }
    }

    @Test("a duplicate key (23505) is bad data, 65, naming the key")
    func uniqueViolation() async throws {
        try await PostgresServer.withScratchSchema("pgtest", created: true) { session, schema in
            let table = PostgresSQL.quoteIdentifier(schema) + ".t"
            try await session.execute("CREATE TABLE \(table) (_id text PRIMARY KEY)", purpose: "test")
            let error = try await Self.failure("INSERT INTO \(table) VALUES ('a'), ('a')", on: session)
            #expect(error.sqlState == "23505")
            #expect(error.exitStatus == .dataError)
            #expect(error.description.contains("(_id)=(a)"))
        }
    }

    @Test("bad data (22xxx) stays 65; a cancelled statement (57014) is 69")
    func dataAndCancel() async throws {
        try await PostgresServer.withScratchSchema("pgtest", created: true) { session, _ in
            #expect(try await Self.failure("SELECT 1 / 0", on: session).exitStatus == .dataError)
            try await session.execute("SET statement_timeout = '50ms'", purpose: "test")
            let cancelled = try await Self.failure("SELECT pg_sleep(5)", on: session)
            #expect(cancelled.sqlState == "57014")
            #expect(cancelled.exitStatus == .unavailable)
            try await session.execute("RESET statement_timeout", purpose: "test")
        }
    }

    @Test("a lock held past lock_timeout (55P03) is 75")
    func lockNotAvailable() async throws {
        try await PostgresServer.withScratchSchema("pgtest", created: true) { session, schema in
            let table = PostgresSQL.quoteIdentifier(schema) + ".t"
            try await session.execute("CREATE TABLE \(table) (a int)", purpose: "test")
            let other = try await PostgresServer.session("holder")
            try await other.execute("BEGIN; LOCK TABLE \(table) IN ACCESS EXCLUSIVE MODE", purpose: "test")
            let error = try await Self.failure(
                "BEGIN; SET LOCAL lock_timeout = '100ms'; LOCK TABLE \(table) IN ACCESS EXCLUSIVE MODE", on: session)
            try await session.execute("ROLLBACK", purpose: "test")
            await other.close()
            #expect(error.sqlState == "55P03")
            #expect(error.exitStatus == .locked)
        }
    }

    @Test("an object depending on a table to drop (2BP01) is 78, naming it; too many columns (54011) is 78")
    func dependentsAndWidth() async throws {
        try await PostgresServer.withScratchSchema("pgtest", created: true) { session, schema in
            let quoted = PostgresSQL.quoteIdentifier(schema)
            try await session.execute(
                "CREATE TABLE \(quoted).t (a int); CREATE VIEW \(quoted).report AS SELECT a FROM \(quoted).t",
                purpose: "test")
            let dependents = try await Self.failure("DROP TABLE \(quoted).t", on: session)
            #expect(dependents.sqlState == "2BP01")
            #expect(dependents.exitStatus == .configError)
            #expect(dependents.description.contains("report"))

            let columns = (0...TablePlan.maximumColumns).map { "c\($0) int" }.joined(separator: ", ")
            let wide = try await Self.failure("CREATE TABLE \(quoted).wide (\(columns))", on: session)
            #expect(wide.sqlState == "54011")
            #expect(wide.exitStatus == .configError)
        }
    }

    @Test("a role lacking a privilege (42501) is 69, naming the privilege")
    func insufficientPrivilege() async throws {
        try await PostgresServer.withScratchSchema("pgtest", created: true) { session, schema in
            let role = "nopriv_" + UUID().uuidString.prefix(8).lowercased()
            try await session.execute("CREATE ROLE \(role) NOLOGIN", purpose: "test")
            try await session.execute("BEGIN; SET LOCAL ROLE \(role)", purpose: "test")
            let thrown = await #expect(throws: PostgresError.self) {
                try await session.execute("CREATE TABLE \(PostgresSQL.quoteIdentifier(schema)).t (a int)", purpose: "t")
            }
            try await session.execute("ROLLBACK; DROP ROLE \(role)", purpose: "test")
            let error = try #require(thrown)
            #expect(error.sqlState == "42501")
            #expect(error.exitStatus == .unavailable)
            #expect(error.description.contains("privilege on schema \(schema)"), "\(error)")
        }
    }
}
