/// One ordered SQL file of `Migrations/` (`0001_create_bids.sql` → version 1).
public struct Migration: Sendable, Equatable {
    public let version: Int
    public let fileName: String
    public let sql: String

    public init(version: Int, fileName: String, sql: String) {
        self.version = version
        self.fileName = fileName
        self.sql = sql
    }
}
