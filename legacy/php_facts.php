<?php
/**
 * The PHP 8 behaviours the legacy price helper depends on, as executable
 * checks. BidEngine must reproduce every one of them (see legacy/README.md).
 *
 * Usage: php legacy/php_facts.php     (exit status 1 if any fact does not hold)
 */
ini_set('serialize_precision', '-1');

$failed = 0;
function fact($what, $actual, $expected)
{
    global $failed;
    $ok = $actual === $expected
        || (is_float($actual) && is_float($expected) && is_nan($actual) && is_nan($expected));
    if (!$ok) {
        $failed++;
    }
    printf("%s %-58s %s\n", $ok ? 'ok  ' : 'FAIL', $what,
        $ok ? '' : 'got ' . var_export($actual, true) . ', expected ' . var_export($expected, true));
}

echo "== is_numeric() on strings (PHP 8: leading AND trailing whitespace allowed)\n";
$numeric = array('12', ' 12', '12 ', " 12 ", "\t12\n", "\r12", "\x0b12", "\f12", "12\x0b",
    '.5', '5.', '+5', '-5', '+.5e-3', '1e2', '1E2', '1e+2', '1.5e2', '007', '-0', '0.0', '00',
    '1e400', '-1e400', '1e-400', '9223372036854775808', '123456789012345678901234567890');
foreach ($numeric as $s) {
    fact('is_numeric(' . json_encode($s) . ')', is_numeric($s), true);
}
$notNumeric = array('', ' ', "\t", '.', '1e', '1e+', 'e5', '-', '+', '+-1', '--1', '0x1A', '0b101',
    '1_000', '1,5', '1.5.1', '12abc', 'abc12', '1 2', '$1.50', 'inf', 'INF', 'NAN', 'Infinity',
    "\u{a0}12", "12\u{a0}", "\u{3000}12", "\u{663}", "\u{ff11}\u{ff12}", "12\0");
foreach ($notNumeric as $s) {
    fact('is_numeric(' . json_encode($s) . ')', is_numeric($s), false);
}
echo "== is_numeric() on other types\n";
fact('is_numeric(true)', is_numeric(true), false);
fact('is_numeric(false)', is_numeric(false), false);
fact('is_numeric(null)', is_numeric(null), false);
fact('is_numeric([])', is_numeric(array()), false);
fact('is_numeric([1])', is_numeric(array(1)), false);
fact('is_numeric(INF)', is_numeric(INF), true);
fact('is_numeric(-0.0)', is_numeric(-0.0), true);

echo "== empty() (product id check)\n";
foreach (array('0' => true, '' => true, '0.0' => false, '00' => false, ' 0' => false, '0 ' => false,
    '-0' => false, '+0' => false, '0e0' => false, ' ' => false) as $s => $e) {
    fact('empty(' . json_encode((string)$s) . ')', empty($s), $e);
}
fact('empty(0)', empty(0), true);
fact('empty(0.0)', empty(0.0), true);
fact('empty(-0.0)', empty(-0.0), true);
fact('empty(null)', empty(null), true);
fact('empty(false)', empty(false), true);
fact('empty([])', empty(array()), true);
fact('empty(json_decode("1e-400")) (underflows to 0.0)', empty(json_decode('1e-400')), true);

echo "== json_decode(\$line, true)\n";
fact('json_decode("-0")', json_decode('-0', true), 0);
fact('json_decode("-0.0") is float -0.0', json_encode(json_decode('-0.0', true)), '-0');
fact('json_decode("1E2")', json_decode('1E2', true), 100.0);
fact('json_decode("1.50")', json_decode('1.50', true), 1.5);
fact('json_decode("1e400")', json_decode('1e400', true), INF);
fact('json_decode("-1e400")', json_decode('-1e400', true), -INF);
fact('json_decode("1e-400")', json_decode('1e-400', true), 0.0);
fact('json_decode("9223372036854775807")', json_decode('9223372036854775807', true), PHP_INT_MAX);
fact('json_decode("9223372036854775808") (bigint -> float)', json_decode('9223372036854775808', true), 9223372036854775808.0);
fact('json_decode("-9223372036854775808")', json_decode('-9223372036854775808', true), PHP_INT_MIN);
fact('json_decode("-9223372036854775809")', json_decode('-9223372036854775809', true), -9223372036854775809.0);
fact('json_decode("123456789012345678901234567890")', json_decode('123456789012345678901234567890', true), 1.2345678901234568E+29);
fact('json_decode("1.23456789012345678")', json_decode('1.23456789012345678', true), 1.2345678901234568);
fact('json_decode("NaN") (invalid JSON)', json_decode('NaN', true), null);
fact('json_decode("[1]", true) is an array', is_array(json_decode('[1]', true)), true);
fact('json_decode("{}", true) === []', json_decode('{}', true), array());
fact('duplicate keys: last one wins', json_decode('{"a":1,"a":2}', true)['a'], 2);
fact('escaped key "product\\u005fid"', array_keys(json_decode('{"product\u005fid":1}', true))[0], 'product_id');
fact('json_decode("") (empty line)', json_decode('', true), null);

echo "== numeric strings in arithmetic and comparisons\n";
fact('"007" * 1', "007" * 1, 7);
fact('" 12" * 1', " 12" * 1, 12);
fact('"12 " * 1', "12 " * 1, 12);
fact('"-0" * 1 (int 0)', "-0" * 1, 0);
fact('"-0.0" * 1 (float -0.0)', json_encode("-0.0" * 1), '-0');
fact('"1.5e2" / 100', "1.5e2" / 100, 1.5);
fact('"9223372036854775808" * 1 (float)', "9223372036854775808" * 1, 9223372036854775808.0);
fact('"1e400" * 1', "1e400" * 1, INF);
fact('"12 " < 0', "12 " < 0, false);
fact('"-0" < 0', "-0" < 0, false);
fact('"-0.0" < 0', "-0.0" < 0, false);
fact('"-1e-400" < 0 (underflows to -0.0)', "-1e-400" < 0, false);
fact('"1e-400" <= 0 (underflows to 0.0)', "1e-400" <= 0, true);
fact('200 / 100 (int)', 200 / 100, 2);
fact('150 / 100 (float)', 150 / 100, 1.5);
fact('PHP_INT_MAX * 2 (overflows to float)', PHP_INT_MAX * 2, 1.8446744073709552E+19);
fact('0 * (INF / 100) (NAN)', 0 * (INF / 100), NAN);

echo "== round(\$x, 2): PHP 8.0-8.3 pre-round to 15 significant digits, half away from zero\n";
fact('round(1.005, 2)', round(1.005, 2), 1.01);
fact('round(0.285, 2)', round(0.285, 2), 0.29);
fact('round(1.015, 2)', round(1.015, 2), 1.02);
fact('round(2.675, 2)', round(2.675, 2), 2.68);
fact('round(1.255, 2)', round(1.255, 2), 1.26);
fact('round(-1.005, 2)', round(-1.005, 2), -1.01);
fact('round(0.0049999999999999999, 2) (literal is 0.005)', round(0.0049999999999999999, 2), 0.01);
fact('round(0.00499999999999999, 2) (< 0.01: no pre-round)', round(0.00499999999999999, 2), 0.0);
fact('round(0.0149999999999999999, 2) (literal is 0.015)', round(0.0149999999999999999, 2), 0.02);
fact('round(0.014999999999999999, 2) (pre-round: 15 digits)', round(0.014999999999999999, 2), 0.02);
fact('round(0.01499999999999999, 2) (pre-round: 15 digits)', round(0.01499999999999999, 2), 0.02);
fact('round(0.0149999999999999, 2)', round(0.0149999999999999, 2), 0.01);
fact('round(0.49999999999999994, 0)', round(0.49999999999999994, 0), 1.0);
fact('round(9999999999999.995, 2) (double ...994140625)', round(9999999999999.995, 2), 9999999999999.99);
fact('round(12345678901234.567, 2) (x100 >= 1e15: unchanged)', round(12345678901234.567, 2), 12345678901234.567);
fact('round(5, 2) returns float', round(5, 2), 5.0);
fact('round(PHP_INT_MAX, 2)', round(PHP_INT_MAX, 2), 9.2233720368547758E+18);
fact('round(INF, 2)', round(INF, 2), INF);
fact('round(-0.0, 2) keeps the sign', json_encode(round(-0.0, 2)), '-0');

echo "== json_encode() with serialize_precision = -1\n";
fact('json_encode(2.25)', json_encode(2.25), '2.25');
fact('json_encode(1.0)', json_encode(1.0), '1');
fact('json_encode(-0.0)', json_encode(-0.0), '-0');
fact('json_encode(0.1 + 0.2)', json_encode(0.1 + 0.2), '0.30000000000000004');
fact('json_encode(1e15)', json_encode(1e15), '1000000000000000');
fact('json_encode(1e16)', json_encode(1e16), '10000000000000000');
fact('json_encode(12345678901234567.0)', json_encode(12345678901234567.0), '12345678901234568');
fact('json_encode(1e17)', json_encode(1e17), '1.0e+17');
fact('json_encode(0.0001)', json_encode(0.0001), '0.0001');
fact('json_encode(0.00001)', json_encode(0.00001), '1.0e-5');
fact('json_encode(1e25)', json_encode(1e25), '1.0e+25');
fact('json_encode(INF) fails', json_encode(INF), false);

echo $failed ? "$failed FAILED\n" : "all facts hold\n";
exit($failed ? 1 : 0);
