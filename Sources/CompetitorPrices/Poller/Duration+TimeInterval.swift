extension Duration {
    /// As fractional seconds, for APIs that take `TimeInterval`.
    var timeInterval: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
