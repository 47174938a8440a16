/// One answer of `bidengine price`, in the legacy harness's shape: `{"adjusted_cpc":2.25}` or
/// `{"errors":[…]}`.
///
/// The input is treated as the legacy endpoint treated it: a JSON object gives its fields; a JSON
/// array is a PHP array without those keys (all three errors); anything else is not an array
/// after `json_decode` and answers `Malformed JSON`.
public enum PricedLine {
    /// The usual flat object goes through `FastBidParser` (so `make parity` checks that path against
    /// PHP); everything else through the JSON tree.
    public static func answer(jsonLine: UnsafeBufferPointer<UInt8>) -> [UInt8] {
        if let result = FastBidParser.parse(jsonLine) { return render(result) }
        guard let document = try? JSONParser.parse(jsonLine) else { return errors(["Malformed JSON"]) }
        switch document {
        case .object:
            return answer(
                productID: LegacyValue(document["product_id"]),
                currentCPC: LegacyValue(document["current_cpc"]),
                targetROAS: LegacyValue(document["target_roas"]))
        case .array:
            return answer(productID: .null, currentCPC: .null, targetROAS: .null)
        default:
            return errors(["Malformed JSON"])
        }
    }

    public static func answer(productID: LegacyValue, currentCPC: LegacyValue, targetROAS: LegacyValue) -> [UInt8] {
        render(PricedBid.priced(productID: productID, currentCPC: currentCPC, targetROAS: targetROAS))
    }

    private static func render(_ result: Result<PricedBid, BidRejection>) -> [UInt8] {
        switch result {
        case .success(let bid):
            var writer = JSONWriter(capacity: 32)
            writer.beginObject()
            writer.member("adjusted_cpc", bid.adjustedCPC)
            writer.endObject()
            return writer.bytes
        case .failure(.invalid(let messages)):
            return errors(messages)
        case .failure:
            return errors(["Malformed JSON"])
        }
    }

    static func errors(_ messages: [String]) -> [UInt8] {
        var writer = JSONWriter(capacity: 64)
        writer.beginObject()
        writer.beginArray("errors")
        for message in messages { writer.element(message) }
        writer.endArray()
        writer.endObject()
        return writer.bytes
    }
}
