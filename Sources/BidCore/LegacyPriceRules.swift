/// The rules of the legacy PHP `PriceHelper` (see `legacy/priceHelper.php`), ported exactly.
///
/// `validateBidData` became `validate`, `calculateAdjustedCpc` became `adjustedCPC`; messages,
/// their order and PHP's type semantics are kept so clients see the answers they always saw.
public enum LegacyPriceRules {
    /// The legacy validation messages, in the order the legacy helper checks them.
    public enum Violation: String, Sendable, CaseIterable {
        case invalidProductID = "Invalid product ID"
        case invalidCurrentCPC = "Invalid current CPC"
        case invalidTargetROAS = "Invalid target ROAS"
    }

    /// What `calculateAdjustedCpc` refuses (its exceptions), plus a result too large to hold exactly.
    public enum PricingError: Error, Sendable, Equatable {
        case targetROASNotPositive
        case currentCPCNegative
        case adjustedCPCOutOfRange

        public var message: String {
            switch self {
            case .targetROASNotPositive: return "Target ROAS must be greater than 0"
            case .currentCPCNegative: return "Current CPC must be non-negative"
            case .adjustedCPCOutOfRange: return "Adjusted CPC out of range"
            }
        }
    }

    /// `PriceHelper::validateBidData`: every violated rule, in legacy order; empty when valid.
    public static func validate(productID: LegacyValue, currentCPC: LegacyValue, targetROAS: LegacyValue) -> [Violation]
    {
        let product = productID.numeric
        return validate(
            productIDIsEmpty: productID.isEmptyInPHP(numeric: product), productID: product,
            currentCPC: currentCPC.numeric, targetROAS: targetROAS.numeric)
    }

    /// `validate` over values already read: PHP's `empty()` of the product id and `numeric` of each.
    public static func validate(
        productIDIsEmpty: Bool, productID: LegacyValue.Numeric, currentCPC: LegacyValue.Numeric,
        targetROAS: LegacyValue.Numeric
    ) -> [Violation] {
        var violations: [Violation] = []
        if productIDIsEmpty || !isUsableNumber(productID) {
            violations.append(.invalidProductID)
        }
        if case .value(let cpc) = currentCPC, !cpc.isNegative {
        } else {
            violations.append(.invalidCurrentCPC)
        }
        if case .value(let roas) = targetROAS, !roas.isNegative, !roas.isZero {
        } else {
            violations.append(.invalidTargetROAS)
        }
        return violations
    }

    /// `PriceHelper::calculateAdjustedCpc`: `round(cpc × roas / 100, 2)`, computed exactly and
    /// rounded half away from zero like PHP's `round()`.
    public static func adjustedCPC(currentCPC: FixedDecimal, targetROAS: FixedDecimal) throws(PricingError)
        -> FixedDecimal
    {
        guard !targetROAS.isNegative, !targetROAS.isZero else { throw .targetROASNotPositive }
        guard !currentCPC.isNegative else { throw .currentCPCNegative }
        do {
            return try currentCPC.multiplied(by: targetROAS, shiftedRightBy: 2, roundedTo: 2)
        } catch {
            throw .adjustedCPCOutOfRange
        }
    }

    private static func isUsableNumber(_ numeric: LegacyValue.Numeric) -> Bool {
        if case .value = numeric { return true }
        return false
    }
}
