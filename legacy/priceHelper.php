<?php
/**
 * PriceHelper - bid price helper (legacy).
 *
 * Reconstructed verbatim from the legacy PHP application so that BidEngine's
 * answers can be compared against it (see legacy/README.md). Do not "fix"
 * anything in here: the point of this file is to behave exactly like the
 * code that ran in production, loose typing and float arithmetic included.
 */
class PriceHelper
{
    /**
     * Validate the incoming bid data.
     *
     * @param mixed $productId
     * @param mixed $currentCpc
     * @param mixed $targetRoas
     * @return array list of error messages (empty when the data is valid)
     */
    public static function validateBidData($productId, $currentCpc, $targetRoas)
    {
        $errors = array();

        if (empty($productId) || !is_numeric($productId)) {
            $errors[] = 'Invalid product ID';
        }

        if (!is_numeric($currentCpc) || $currentCpc < 0) {
            $errors[] = 'Invalid current CPC';
        }

        if (!is_numeric($targetRoas) || $targetRoas <= 0) {
            $errors[] = 'Invalid target ROAS';
        }

        return $errors;
    }

    /**
     * Calculate the adjusted CPC for a target ROAS (in percent).
     *
     * @param mixed $currentCpc
     * @param mixed $targetRoas
     * @return float
     * @throws InvalidArgumentException
     */
    public static function calculateAdjustedCpc($currentCpc, $targetRoas)
    {
        if ($targetRoas <= 0) {
            throw new InvalidArgumentException('Target ROAS must be greater than 0');
        }

        if ($currentCpc < 0) {
            throw new InvalidArgumentException('Current CPC must be non-negative');
        }

        return round($currentCpc * ($targetRoas / 100), 2);
    }
}
