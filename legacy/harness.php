<?php
/**
 * Legacy parity harness.
 *
 * Reads one JSON document per line on stdin, feeds it through the legacy
 * PriceHelper exactly like the legacy endpoint did, and writes exactly one
 * JSON line per input line on stdout:
 *
 *   {"adjusted_cpc":2.25}                  validation passed
 *   {"errors":["Invalid product ID",...]}  validation failed
 *   {"errors":["Malformed JSON"]}          line is not a JSON object/array
 *   {"exception":"<message>"}              calculateAdjustedCpc() threw
 *   {"adjusted_cpc":"INF"}                 result not JSON-encodable
 *                                          ("INF", "-INF" or "NAN")
 *
 * Usage: php legacy/harness.php < inputs.jsonl > php.jsonl
 */

// PHP 8 defaults, pinned so a php.ini cannot change the answers:
// shortest round-trip representation for floats in json_encode().
ini_set('serialize_precision', '-1');
ini_set('precision', '14');
error_reporting(E_ALL);

require __DIR__ . '/priceHelper.php';

/**
 * Answer for one input line, as an array ready for json_encode().
 */
function answer($line)
{
    // As the legacy endpoint: json_decode($body, true), then array checks.
    $data = json_decode($line, true);
    if (!is_array($data)) {
        return array('errors' => array('Malformed JSON'));
    }

    $productId  = $data['product_id'] ?? null;
    $currentCpc = $data['current_cpc'] ?? null;
    $targetRoas = $data['target_roas'] ?? null;

    $errors = PriceHelper::validateBidData($productId, $currentCpc, $targetRoas);
    if (!empty($errors)) {
        return array('errors' => $errors);
    }

    try {
        return array('adjusted_cpc' => PriceHelper::calculateAdjustedCpc($currentCpc, $targetRoas));
    } catch (InvalidArgumentException $e) {
        return array('exception' => $e->getMessage());
    }
}

function encode(array $answer)
{
    $json = json_encode($answer);
    if ($json !== false) {
        return $json;
    }
    // json_encode() refuses INF and NAN ("Inf and NaN cannot be JSON encoded").
    $v = $answer['adjusted_cpc'] ?? null;
    if (is_float($v)) {
        $marker = is_nan($v) ? 'NAN' : ($v > 0 ? 'INF' : '-INF');
        return json_encode(array('adjusted_cpc' => $marker));
    }
    return json_encode(array('exception' => 'json_encode failed: ' . json_last_error_msg()));
}

$in = STDIN;
$out = STDOUT;
while (($line = fgets($in)) !== false) {
    $line = rtrim($line, "\r\n");
    fwrite($out, encode(answer($line)) . "\n");
    fflush($out);
}
