import Testing

@testable import MongoPG

/// libpq's `PQconninfoParse`, through `PGConninfoOptions`: what each form of connection string sets. Pure: no server.
@Suite("Connection strings as libpq reads them")
struct PostgresConninfoTests {
    @Test("a URI sets its user, host, port, database and query parameters")
    func uri() throws {
        let keywords = try PostgresConninfo.keywords(
            of: "postgresql://sync@db.example:6432/app%20db?sslmode=require&application_name=mongo%20pg")
        #expect(
            keywords == [
                "user": "sync", "host": "db.example", "port": "6432", "dbname": "app db", "sslmode": "require",
                "application_name": "mongo pg",
            ])
    }

    @Test("keyword = value pairs with quoting: spaces, escaped quotes and backslashes, and unquoted escapes")
    func quotedPairs() throws {
        let keywords = try PostgresConninfo.keywords(
            of: #"host = db  application_name='mongo pg \'sync\'' options='-c search_path=a\\b' dbname=x\ y"#)
        #expect(
            keywords == [
                "host": "db", "application_name": "mongo pg 'sync'", "options": #"-c search_path=a\b"#,
                "dbname": "x y",
            ])
    }

    @Test(
        "a password is found in each form, and the config refuses it",
        arguments: [
            "host=h password='secret word'", "postgresql://u:secret@h/db", "postgres://h/db?password=secret",
        ])
    func password(conninfo: String) throws {
        #expect(try PostgresConninfo.keywords(of: conninfo)["password"]?.hasPrefix("secret") == true)
        #expect(try SyncConfig.conninfoPassword(conninfo).get())
    }

    @Test(
        "libpq's refusal is a .connect error that repeats neither the string nor a URI's password",
        arguments: [
            "host=h colour=blue", "host='unclosed", "postgresql://u:Hunter2@[::1/db",
            "postgresql://u:Hunter2@h/db?colour=blue",
        ])
    func refused(conninfo: String) throws {
        let error = try #require(throws: PostgresError.self) { try PostgresConninfo.keywords(of: conninfo) }
        #expect(error.kind == .connect)
        #expect(!error.description.contains(conninfo))
        #expect(!error.description.contains("Hunter2"), "\(error)")
    }
}
