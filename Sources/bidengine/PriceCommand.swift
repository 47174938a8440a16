import ArgumentParser
import BidCore

#if canImport(Glibc)
    import Glibc
#endif

/// `bidengine price`: the pricing rules without a database, for parity checks and scripts.
struct PriceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "price",
        abstract: "Price bids without a database.",
        discussion: """
            With flags, prices one bid and prints the JSON the API answers (without bid_id):
              bidengine price --product-id 123 --current-cpc 1.5 --target-roas 150

            Without flags, reads JSON lines {"product_id":…,"current_cpc":…,"target_roas":…} on \
            stdin and writes one line per input: {"adjusted_cpc":2.25} or {"errors":[…]}. \
            Exits 0 even when lines are invalid; non-zero only when the input cannot be read.
            """)

    @Option(name: .customLong("product-id"), help: "Product id (numeric text, as a client would send it).")
    var productID: String?
    @Option(name: .customLong("current-cpc"), help: "Current cost per click (decimal text).")
    var currentCPC: String?
    @Option(name: .customLong("target-roas"), help: "Target return on ad spend, in percent (decimal text).")
    var targetROAS: String?

    func run() throws {
        if productID == nil, currentCPC == nil, targetROAS == nil {
            try priceLines()
        } else {
            // Flags arrive as text, so they get PHP's numeric-string semantics; a missing flag is null.
            let line = PricedLine.answer(
                productID: productID.map(LegacyValue.string) ?? .null,
                currentCPC: currentCPC.map(LegacyValue.string) ?? .null,
                targetROAS: targetROAS.map(LegacyValue.string) ?? .null)
            writeAll(line + [UInt8(ascii: "\n")])
        }
    }

    /// Streams stdin to stdout a line at a time, so inputs of any size work in constant memory.
    private func priceLines() throws {
        var reader = LineReader(fileDescriptor: 0)
        var output: [UInt8] = []
        output.reserveCapacity(1 << 16)
        while let line = try reader.nextLine() {
            output.append(contentsOf: line.withUnsafeBufferPointer(PricedLine.answer(jsonLine:)))
            output.append(UInt8(ascii: "\n"))
            if output.count >= 1 << 15 {
                writeAll(output)
                output.removeAll(keepingCapacity: true)
            }
        }
        writeAll(output)
    }
}

/// Writes every byte to stdout, retrying short writes.
func writeAll(_ bytes: [UInt8]) {
    bytes.withUnsafeBytes { buffer in
        var offset = 0
        while offset < buffer.count {
            let written = write(1, buffer.baseAddress! + offset, buffer.count - offset)
            if written <= 0 {
                if written < 0, errno == EINTR { continue }
                return
            }
            offset += written
        }
    }
}
