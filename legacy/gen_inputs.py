#!/usr/bin/env python3
"""Deterministic input generator for the legacy price-helper parity check.

Writes JSON lines ``{"product_id":…,"current_cpc":…,"target_roas":…}`` to
stdout: first a curated list of edge cases, then ``--count`` (default
200,000) pseudo-random lines from ``random.Random(20261125)``.

Numbers are written as raw JSON lexemes built here (so ``1.50``, ``-0``,
``1e2`` reach both implementations exactly as written); strings go through
``json.dumps``.  Every line is a valid JSON object.  The output is identical
on every run and every Python 3 version (only ``random()``, ``randrange()``
and ``choice()`` of a seeded ``random.Random`` are used).

Usage: python3 legacy/gen_inputs.py [--count N] > inputs.jsonl
"""

import argparse
import json
import random
import sys
from decimal import Decimal

SEED = 20261125
DEFAULT_COUNT = 200_000


class Raw(str):
    """A JSON text fragment that is written verbatim (number lexeme, literal,
    or a nested value)."""


MISSING = object()  # key absent from the object


def s(text):
    """A JSON string value."""
    return Raw(json.dumps(text))


def lex(value):
    """JSON text for a value: Raw is verbatim, str becomes a JSON string."""
    if isinstance(value, Raw):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)
    raise TypeError(value)


def line(pid=MISSING, cpc=MISSING, roas=MISSING):
    parts = []
    for key, value in (("product_id", pid), ("current_cpc", cpc), ("target_roas", roas)):
        if value is not MISSING:
            parts.append('"%s":%s' % (key, lex(value)))
    return "{" + ",".join(parts) + "}"


R = Raw  # short alias for the curated table

# ---------------------------------------------------------------------------
# Curated edge cases (written first, in this order)
# ---------------------------------------------------------------------------

# Values that are interesting in any of the three fields.
EDGE_VALUES = [
    # zeros
    R("0"), R("-0"), R("0.0"), R("-0.0"), R("0e0"), R("0E-5"), R("-0e3"),
    s("0"), s("0.0"), s("-0"), s("-0.0"), s("00"), s(" 0"), s("0 "), s("+0"), s("0e0"),
    # leading zeros / signs / short forms (strings only: not valid JSON numbers)
    s("007"), s("-007"), s("0012.50"), s("+5"), s("+1.5"), s("-1.5"), s(".5"), s("5."),
    s("-.5"), s("+.5e-3"), s("1.5e2"), s("-1.5e2"), s("15E-1"), s("1e+2"),
    # simple numbers in various lexical forms
    R("1"), R("1.5"), R("1.50"), R("1.500000"), R("150"), R("100"), R("1e2"), R("1E2"),
    R("1e-2"), R("1E+2"), R("1.5e2"), R("15E-1"), R("0.1"), R("0.2"), R("0.3"),
    R("-1"), R("-0.01"), R("-1.5"), R("-1e-9"), s("-1"), s("-0.01"),
    # classic binary-float troublemakers
    R("1.005"), R("0.285"), R("1.015"), R("2.675"), R("0.125"), R("0.615"), R("1.255"),
    R("8.675"), R("1.45"), R("4.35"), R("0.045"), R("1234.565"), R("10.005"),
    s("1.005"), s("0.285"), s("2.675"),
    # whitespace around numeric strings (PHP 8 allows leading AND trailing)
    s(" 12"), s("12 "), s(" 12 "), s("\t12\n"), s("\n12"), s("\r12\r"), s("\x0b12"),
    s("12\x0b"), s("\f12\f"), s("  1.5e2  "), s(" -1"), s("\u00a012"), s("12\u00a0"),
    s("\u200b12"), s("\u300012"),
    # not numeric in PHP
    s("0x1A"), s("0X1a"), s("0b101"), s("0o17"), s("1_000"), s("1,5"), s("1.5.1"),
    s("."), s(""), s(" "), s("\t"), s("1e"), s("1e+"), s("e5"), s("-"), s("+"), s("+-1"),
    s("--1"), s("abc"), s("12abc"), s("abc12"), s("$1.50"), s("1.5$"), s("1 2"),
    s("inf"), s("INF"), s("-inf"), s("Infinity"), s("nan"), s("NAN"), s("NaN"),
    s("\u0663"), s("\uff11\uff12"), s("12\u0000"), s("null"), s("true"),
    # non-scalars and literals
    R("true"), R("false"), R("null"), R("[]"), R("{}"), R("[1]"), R("[1.5]"),
    R('{"a":1}'), R('[""]'), R("[0]"),
    # many significant digits (beyond double precision)
    R("1.23456789012345678"), s("1.23456789012345678"), R("0.1000000000000000055511151231257827"),
    R("12345678901234567890"), s("12345678901234567890"), R("1234567890123456.78"),
    R("12345678901234.567"), R("9007199254740993"), s("9007199254740993"),
    R("9007199254740992.5"), R("0.30000000000000004"), R("2.00000000000000011"),
    R("1.99999999999999999"), R("0.0050000000000000001"), R("0.0049999999999999999"),
    # int64 boundaries (JSON ints beyond int64 become doubles in PHP)
    R("9223372036854775807"), R("9223372036854775808"), R("-9223372036854775808"),
    R("-9223372036854775809"), s("9223372036854775807"), s("9223372036854775808"),
    R("18446744073709551616"), R("123456789012345678901234567890"),
    s("123456789012345678901234567890"),
    # around BidEngine's 38-digit limit
    R("99999999999999999999999999999999999999"), R("999999999999999999999999999999999999999"),
    R("1e37"), R("1e38"), R("1E38"), R("9.9999999999999999999999999999999999999e37"),
    R("0.00000000000000000000000000000000000001"), R("0.000000000000000000000000000000000000001"),
    R("1.0000000000000000000000000000000000001"), R("1.00000000000000000000000000000000000001"),
    R("1.50000000000000000000000000000000000000000"), s("1.50000000000000000000000000000000000000000"),
    R("12345678901234567890.123456789012345678"), R("1e-38"), R("1e-39"),
    # huge / tiny / out of double range
    R("1e30"), R("1e300"), R("1e308"), R("1.7976931348623157e308"), R("1.8e308"), R("1e309"),
    R("1e400"), R("-1e400"), s("1e400"), s("-1e400"), s("1e999999"),
    R("1e-30"), R("0.000000001"), R("0.0001"), R("1e-300"), R("4.9e-324"), R("2e-324"),
    R("1e-400"), R("-1e-400"), s("1e-400"), s("-1e-400"), R("2.2250738585072014e-308"),
]

# Extra product-id specific values.
PID_VALUES = [
    R("1"), R("42"), R("-5"), R("1.5"), R("0"), R("-0"), R("0.0"), R("-0.0"), R("1e3"),
    s("1"), s("42"), s("0"), s("0.0"), s("00"), s(" 0"), s("-0"), s("007"), s("1e3"),
    s("SKU-1"), s("1e-400"), R("1e-400"), R("1e400"),
]

# "Normal" partner values per field used when another field is under test.
CPC_PARTNERS = [R("1.5"), R("100"), s("2.5"), R("0.01")]
ROAS_PARTNERS = [R("100"), R("150"), s("250"), R("123.456")]


def curated():
    out = []
    add = out.append

    # The worked examples from the legacy docs/tickets.
    add(line(R("1"), R("1.5"), R("150")))
    add(line(R("1"), R("999.99"), R("500")))
    add(line(R("1"), R("1.234"), R("123.456")))
    add(line(R("1"), R("10"), R("120.1")))
    add(line(R("1"), R("1.005"), R("100")))
    add(line(s("0"), R("1.5"), R("150")))
    add(line(s("123"), s("1.5"), s("150")))

    # Missing keys: every subset, plus the empty object.
    keys = [("pid", R("7")), ("cpc", R("1.5")), ("roas", R("150"))]
    for mask in range(8):
        kw = {name: val for i, (name, val) in enumerate(keys) if mask & (1 << i)}
        add(line(**kw))
    # Present-but-null vs missing, extra keys, key case, escaped keys, duplicate keys,
    # insignificant JSON whitespace.
    add(line(R("null"), R("null"), R("null")))
    add('{"product_id":1,"current_cpc":1.5,"target_roas":150,"extra":"x"}')
    add('{"Product_Id":1,"Current_Cpc":1.5,"Target_Roas":150}')
    add('{"product\\u005fid":1,"current_cpc":1.5,"target\\u005Froas":150}')
    add('{"product_id":1,"current_cpc":1.5,"current_cpc":2.5,"target_roas":150}')
    add('{"product_id":1,"current_cpc":-1,"current_cpc":2.5,"target_roas":150}')
    add('{ "product_id" : 1 , "current_cpc" : 1.5 , "target_roas" : 150 }')
    add('{"target_roas":150,"current_cpc":1.5,"product_id":1}')
    add('{"product_id":1,"current_cpc":1.5,"target_roas":150,"nested":{"a":[1,2,{"b":null}]}}')

    # Every edge value in every field, against a few normal partners.
    for v in EDGE_VALUES:
        for p in CPC_PARTNERS[:2]:
            add(line(R("1"), p, v))            # as target_roas
        for p in ROAS_PARTNERS:
            add(line(R("1"), v, p))            # as current_cpc
        add(line(v, R("1.5"), R("150")))       # as product_id
    for v in PID_VALUES:
        add(line(v, R("1.5"), R("150")))
        add(line(v, R("-1"), R("0")))

    # Edge value pairs: cpc × roas over a compact but nasty subset.
    nasty = [R("0"), R("-0"), R("-0.0"), s("-0"), R("1e-400"), R("-1e-400"), R("1e400"),
             s("1e400"), R("1e300"), R("1e38"), R("1e30"), R("12345678901234567890"),
             R("9223372036854775807"), R("1.005"), s(" 12"), R("1e-30"), R("0.5"),
             R("99999999999999999999999999999999999999")]
    for a in nasty:
        for b in nasty:
            add(line(R("1"), a, b))

    # Halves at every digit position: exact value x.xx5 before rounding.
    halves = ["0.005", "0.015", "0.025", "0.045", "0.105", "0.125", "0.135", "0.145",
              "0.285", "0.575", "0.995", "1.005", "1.015", "1.025", "1.035", "1.045",
              "1.115", "1.255", "2.675", "4.435", "8.345", "9.995", "10.005", "10.235",
              "99.995", "123.455", "1234.565", "12345.675", "81.725", "33.335"]
    for digits in range(18):              # integer parts with 0..17 digits
        if digits == 0:
            ints = ["0"]
        else:
            ints = ["1" + "0" * (digits - 1), "9" * digits,
                    "".join(str((i * 7 + 3) % 10 or 1) for i in range(digits))]
        for ip in ints:
            for frac in ("005", "015", "125", "285", "675", "995", "445", "555"):
                halves.append("%s.%s" % (ip, frac))
    seen = set()
    for h in halves:
        if h in seen:
            continue
        seen.add(h)
        add(line(R("1"), R(h), R("100")))          # cpc × 1
        add(line(R("1"), R("100"), R(h)))          # roas / 100 × 100
        add(line(R("1"), s(h), s("100")))
        # Same exact half-cent result reached through other ROAS values.
        d = Decimal(h)
        for roas, factor in (("200", Decimal("0.5")), ("50", Decimal(2)), ("12.5", Decimal(8)),
                             ("250", Decimal("0.4")), ("1000", Decimal("0.1")), ("25", Decimal(4))):
            add(line(R("1"), R(str(d * factor)), R(roas)))

    # Many significant digits: products near half a cent after double error.
    for i in range(1, 60):
        add(line(R("1"), R("0.%s5" % ("0" * (i % 17) + "1")), R("100")))
        add(line(R("1"), R("1.23456789012345678"), R("1%s" % ("0" * (i % 12)))))
    # Drop repeats (keep first occurrence) so every curated line is distinct.
    return list(dict.fromkeys(out))


# ---------------------------------------------------------------------------
# Random part
# ---------------------------------------------------------------------------

WS = [" ", "  ", "\t", "\n", "\r", "\x0b", "\f", " \t"]
GARBAGE = ["", " ", "abc", "1e", "0x1A", "1,5", "12abc", "$1.50", ".", "-", "1.5.1",
           "inf", "NaN", "1_0", "\u00a01"]
NON_SCALARS = ["null", "true", "false", "[]", "{}", "[1]"]


def decimal_text(rng, lo_exp, hi_exp, max_decimals=6):
    """A non-negative decimal string in [10**e, 10**(e+1)) for a random integer
    e in lo_exp..hi_exp, with 0..max_decimals fractional digits.  Integer
    arithmetic only, so the output does not depend on the platform's libm."""
    decimals = rng.randrange(max_decimals + 1)
    e = rng.randrange(lo_exp, hi_exp + 1)
    k = e + decimals                     # number of units of 10**-decimals, as a power of ten
    if k < 0:
        units = rng.randrange(0, 2)      # below the requested precision: 0 or one unit
    else:
        units = rng.randrange(10 ** k, 10 ** (k + 1))
    digits = str(units)
    if decimals == 0:
        return digits
    digits = digits.rjust(decimals + 1, "0")
    return digits[:-decimals] + "." + digits[-decimals:]


def exponent_form(rng, text):
    """Rewrite a plain decimal as an equivalent exponent form (1.5 -> 15E-1)."""
    intpart, _, frac = text.partition(".")
    mant = (intpart + frac).lstrip("0") or "0"
    exp = -len(frac)
    shift = rng.randrange(0, len(mant))            # move the point into the mantissa
    if shift:
        mant = mant[:-shift] + "." + mant[-shift:]
        exp += shift
    e = rng.choice(["e", "E"])
    sign = "+" if exp >= 0 and rng.random() < 0.3 else ""
    return "%s%s%s%d" % (mant, e, sign, exp)


def random_number_text(rng, field):
    """Decimal text for cpc/roas: 90% realistic, 10% any magnitude 1e-4 .. 1e10."""
    r = rng.random()
    if r < 0.90:
        if field == "cpc":
            return decimal_text(rng, -2, 1)         # 0.01 .. 99.999999
        return decimal_text(rng, 0, 3)              # 1 .. 9999.999999 (percent)
    return decimal_text(rng, -4, 9)                 # 1e-4 .. 1e10


def random_value(rng, field):
    r = rng.random()
    if r < 0.006:
        return MISSING
    if r < 0.012:
        return R(rng.choice(NON_SCALARS))
    if r < 0.025:
        return s(rng.choice(GARBAGE))
    text = random_number_text(rng, field)
    r = rng.random()
    if r < 0.03:
        text = "-" + text                           # negative
    elif r < 0.045:
        text = rng.choice(["0", "0.0", "0.00", "-0", "-0.0"])
    as_string = rng.random() < 0.30
    form = rng.random()
    if form < 0.10 and text.lstrip("-") not in ("0", "0.0", "0.00"):
        neg = text.startswith("-")
        text = ("-" if neg else "") + exponent_form(rng, text.lstrip("-"))
    elif form < 0.18 and "." in text:
        text = text + "0" * rng.randrange(1, 4)     # trailing zeros: 1.50
    if not as_string:
        return R(text)
    # string-only spellings
    r = rng.random()
    if r < 0.08 and text.startswith("0."):
        text = text[1:]                             # .5
    elif r < 0.14 and "." not in text and "e" not in text.lower():
        text = text + "."                           # 5.
    elif r < 0.20 and not text.startswith("-"):
        text = "+" + text
    elif r < 0.25 and not text.startswith("-"):
        text = "0" * rng.randrange(1, 3) + text     # leading zeros: 007
    r = rng.random()
    if r < 0.06:
        text = rng.choice(WS) + text
    elif r < 0.12:
        text = text + rng.choice(WS)
    elif r < 0.15:
        text = rng.choice(WS) + text + rng.choice(WS)
    return s(text)


def random_pid(rng):
    r = rng.random()
    if r < 0.85:
        return R(str(rng.randrange(1, 10 ** rng.randrange(1, 10))))
    if r < 0.92:
        return s(str(rng.randrange(1, 10 ** rng.randrange(1, 10))))
    return rng.choice([R("0"), s("0"), s(""), R("null"), s("abc"), R("-1"), R("1.5"),
                       R("true"), R("[]"), MISSING, s("0.0"), s(" 7"), R("0.0"), s("7 ")])


def generate(count):
    rng = random.Random(SEED)
    yield from curated()
    for _ in range(count):
        yield line(random_pid(rng), random_value(rng, "cpc"), random_value(rng, "roas"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--count", type=int, default=DEFAULT_COUNT,
                    help="number of random lines after the curated ones (default %(default)s)")
    args = ap.parse_args()
    out = sys.stdout
    buf = []
    for text in generate(args.count):
        buf.append(text)
        if len(buf) >= 4096:
            out.write("\n".join(buf) + "\n")
            buf = []
    if buf:
        out.write("\n".join(buf) + "\n")


if __name__ == "__main__":
    main()
