internal import CLibpq

/// Turns a `PGresult` into Swift values or an error, and frees it: no `PGresult` outlives this call.
enum PostgresResultReader {
    /// Reads and clears `result`. Command-OK and tuples-OK are successes; everything else is an error.
    static func consume(_ result: OpaquePointer) -> Result<PostgresResult, PostgresError> {
        defer { PQclear(result) }
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_SINGLE_TUPLE, PGRES_COPY_IN, PGRES_COPY_OUT:
            return .success(read(result))
        default:
            let message = PQresultErrorMessage(result).map { String(cString: $0) } ?? "unknown error"
            let state = PQresultErrorField(result, Int32(UInt8(ascii: "C"))).map { String(cString: $0) }
            return .failure(PostgresError(.query, message.trimmingTrailingNewlines(), sqlState: state))
        }
    }

    private static func read(_ result: OpaquePointer) -> PostgresResult {
        let rowCount = Int(PQntuples(result))
        let columnCount = Int(PQnfields(result))
        var columns: [String] = []
        columns.reserveCapacity(columnCount)
        for column in 0..<columnCount {
            columns.append(PQfname(result, Int32(column)).map { String(cString: $0) } ?? "")
        }
        var rows: [[String?]] = []
        rows.reserveCapacity(rowCount)
        for row in 0..<rowCount {
            var values: [String?] = []
            values.reserveCapacity(columnCount)
            for column in 0..<columnCount {
                if PQgetisnull(result, Int32(row), Int32(column)) != 0 {
                    values.append(nil)
                } else {
                    values.append(String(cString: PQgetvalue(result, Int32(row), Int32(column))))
                }
            }
            rows.append(values)
        }
        let tuples = PQcmdTuples(result).map { String(cString: $0) } ?? ""
        return PostgresResult(columns: columns, rows: rows, affectedRows: Int(tuples))
    }
}

extension String {
    func trimmingTrailingNewlines() -> String {
        var text = self
        while text.last == "\n" || text.last == " " { text.removeLast() }
        return text
    }
}

/// Calls `body` with C strings for `parameters` (nil → SQL NULL) that live for the call.
func withCParameters<R>(_ parameters: [String?], _ body: ([UnsafePointer<CChar>?]) -> R) -> R {
    let storage: [UnsafeMutablePointer<CChar>?] = parameters.map { value in value.map { strdup($0) } }
    defer { for pointer in storage { free(pointer) } }
    return body(storage.map { $0.map { UnsafePointer($0) } })
}

#if canImport(Glibc)
    import Glibc
#endif
