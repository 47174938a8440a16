import Postgres

/// Loads an `AuditReport` with five short statements, each answered through a callback, so the
/// same code serves the blocking command line and the non-blocking HTTP handlers.
struct AuditReportLoader {
    let database: any AuditDatabase
    /// The most flags and products a report lists (the worst ones).
    let rowLimit: Int

    /// Answers nil when there is no run `id`.
    func load(runID id: Int64, _ completion: @escaping (Result<AuditReport?, PostgresError>) -> Void) {
        let run = String(id)
        database.run(AuditSQL.runByID, [run]) { outcome in
            switch outcome.flatMap({ result in
                Result { () throws(PostgresError) in try AuditRunRecord.first(of: result) }
            }) {
            case .success(let record?): load(record, completion)
            case .success(nil): completion(.success(nil))
            case .failure(let error): completion(.failure(error))
            }
        }
    }

    /// The rest of the report for a run already read.
    func load(_ record: AuditRunRecord, _ completion: @escaping (Result<AuditReport?, PostgresError>) -> Void) {
        let run = String(record.id)
        let limit = String(rowLimit)
        competitorPricesAvailable { available in
            let competitor: Bool
            switch available {
            case .success(let value): competitor = value
            case .failure(let error): return completion(.failure(error))
            }
            database.run(AuditSQL.bands, [run]) { bandsOutcome in
                database.run(AuditSQL.products(competitor: competitor), [run, limit]) { productsOutcome in
                    let source = record.flagSource
                    database.run(
                        AuditSQL.worstFlags(competitor: competitor, source: source), [run, limit] + source.parameters
                    ) { flagsOutcome in
                        completion(
                            Result { () throws(PostgresError) in
                                let products = try productsOutcome.get().rows
                                return AuditReport(
                                    run: record,
                                    bands: try Self.decode(
                                        bandsOutcome.get().rows, AuditBandCount.init(row:),
                                        table: "audit_deviation_bands"),
                                    products: try Self.decode(
                                        products, AuditProductRecord.init(row:), table: "audit_products"),
                                    productCount: products.first.flatMap { $0.last ?? nil }.flatMap { Int64($0) } ?? 0,
                                    worstFlags: try Self.decode(
                                        flagsOutcome.get().rows, AuditFlagRecord.init(row:), table: "audit_flags"),
                                    competitorPricesAvailable: competitor, rowLimit: rowLimit)
                            })
                    }
                }
            }
        }
    }

    /// Whether the competitor poller's table is there (asked every time: it may be created at any moment).
    func competitorPricesAvailable(_ completion: @escaping (Result<Bool, PostgresError>) -> Void) {
        database.run(AuditSQL.competitorPricesAvailable, []) { outcome in
            completion(outcome.map { $0.scalar == "t" })
        }
    }

    static func decode<T>(_ rows: [[String?]], _ decode: ([String?]) -> T?, table: String) throws(PostgresError) -> [T]
    {
        var values: [T] = []
        values.reserveCapacity(rows.count)
        for row in rows {
            guard let value = decode(row) else { throw AuditSQL.unreadable(table) }
            values.append(value)
        }
        return values
    }
}
