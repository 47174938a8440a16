/// CPU used during a run, in cores (1.0 = one core busy for the whole run; this machine's
/// total is its core count).
struct CPUShare: Codable, Sendable {
    let server: Double
    /// nil when the database runs elsewhere (its processes are not visible here).
    let postgres: Double?
    let loadGenerator: Double

    init(before: CPUAccounting.Sample, after: CPUAccounting.Sample, generatorSeconds: Double, wallSeconds: Double) {
        let wall = Swift.max(wallSeconds, 1e-9)
        server = (after.server - before.server) / wall
        postgres = after.postgres.flatMap { after in before.postgres.map { (after - $0) / wall } }
        loadGenerator = generatorSeconds / wall
    }

    /// `0.92/0.81/0.30`: server / PostgreSQL / load generator, in cores.
    var compact: String {
        "\(Format.decimal(server, places: 2))/\(postgres.map { Format.decimal($0, places: 2) } ?? "?")/\(Format.decimal(loadGenerator, places: 2))"
    }
}
