/// How an export body reaches the collector. Used from the exporter's thread only, one export at
/// a time.
protocol OTLPTransport: AnyObject {
    /// Posts one OTLP JSON body; true when the collector answered 2xx within the timeout.
    func post(_ body: [UInt8]) -> Bool
    /// Releases what the transport holds open; a later `post` opens it again.
    func close()
}
