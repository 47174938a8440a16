#!/usr/bin/env python3
"""Compare BidEngine's answers with the legacy PHP answers, line by line.

Usage:
  compare.py PHP_OUT BIDENGINE_OUT INPUTS [--differences legacy/DIFFERENCES.md]
             [--write-differences] [--check-php-model] [--show N]

Line i of PHP_OUT and of BIDENGINE_OUT are the answers to line i of INPUTS.
Two answers agree when
  * both are {"errors":[...]} with equal lists (same messages, same order), or
  * both are {"adjusted_cpc":<number>} with numerically equal values, compared
    as exact decimals of the JSON lexemes (BidEngine "1.50" == PHP "1.5",
    "1.0e+25" == "10000000000000000000000000").
Anything else is a mismatch.  A mismatch is *explained* when the machine
readable table of DIFFERENCES.md (between <!-- table:start --> and
<!-- table:end -->) has a row with exactly this input line, this PHP answer
and this BidEngine answer, and a class other than "?".

Exit status: 0 when every mismatch is explained and the line counts agree,
1 otherwise, 2 on usage errors.

--write-differences regenerates the table from the current mismatches: one
row per distinct (input, PHP answer, BidEngine answer), classified and
explained with exact decimal arithmetic (class a/b/c, see DIFFERENCES.md).
A mismatch that fits none of the documented classes is written with class
"?" and stays unexplained until a human classifies it (and fixes the cause).

--check-php-model additionally re-computes every PHP answer with the Python
model of the legacy code used for the explanations and reports where the
model and the real PHP disagree (it should never).

Python 3 standard library only.
"""

import argparse
import json
import math
import os
import re
import sys
from decimal import MAX_EMAX, MIN_EMIN, ROUND_HALF_UP, Context, Decimal

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DEFAULT_DIFFERENCES = os.path.join(HERE, "DIFFERENCES.md")
TABLE_START = "<!-- table:start -->"
TABLE_END = "<!-- table:end -->"

# BidEngine's fixed-point decimal: at most this many significant digits, and
# magnitudes below 10**MAX_DIGITS with at most MAX_DIGITS fractional digits.
MAX_DIGITS = 38
# An adjusted CPC carries two fractional digits, so a result of magnitude
# >= 10**(MAX_DIGITS - 2) cannot be represented.
RESULT_LIMIT = Decimal(10) ** (MAX_DIGITS - 2)

CTX = Context(prec=4000, rounding=ROUND_HALF_UP, Emax=MAX_EMAX, Emin=MIN_EMIN, traps=[])
CENT = Decimal("0.01")

FIELDS = (("product_id", "Invalid product ID"),
          ("current_cpc", "Invalid current CPC"),
          ("target_roas", "Invalid target ROAS"))
OUT_OF_RANGE = "Adjusted CPC out of range"
CLASS_ORDER = {"a": 0, "b": 1, "c": 2, "?": 3}


# ---------------------------------------------------------------------------
# Reading inputs with their lexemes
# ---------------------------------------------------------------------------

class IntLex(str):
    """A JSON integer token, kept as its exact text."""


class FloatLex(str):
    """A JSON number token with fraction and/or exponent, kept as its text."""


MISSING = object()


def parse_input(text):
    """Decode an input line keeping number lexemes.  Returns a dict of the
    three fields (MISSING when absent) or None when the line is not a JSON
    array/object (PHP: "Malformed JSON")."""
    try:
        data = json.loads(text, parse_int=IntLex, parse_float=FloatLex,
                          parse_constant=lambda c: (_ for _ in ()).throw(ValueError(c)))
    except (ValueError, RecursionError):
        return None
    if not _valid_unicode(data):
        return None                   # PHP rejects lone surrogates / invalid UTF-8
    if isinstance(data, list):
        return {name: MISSING for name, _ in FIELDS}
    if not isinstance(data, dict):
        return None
    return {name: data.get(name, MISSING) for name, _ in FIELDS}


def _valid_unicode(obj):
    if isinstance(obj, str):
        try:
            obj.encode("utf-8")
        except UnicodeEncodeError:
            return False
        return True
    if isinstance(obj, list):
        return all(_valid_unicode(x) for x in obj)
    if isinstance(obj, dict):
        return all(_valid_unicode(k) and _valid_unicode(x) for k, x in obj.items())
    return True


def show_value(v):
    """Short JSON text of an input value for explanations."""
    if v is MISSING:
        return "(missing)"
    if isinstance(v, (IntLex, FloatLex)):
        return str(v)
    return json.dumps(v, ensure_ascii=True, separators=(",", ":"))


# ---------------------------------------------------------------------------
# The legacy PHP 8.2 semantics, modelled (used to explain and to cross-check)
# ---------------------------------------------------------------------------

INT64_MIN, INT64_MAX = -2 ** 63, 2 ** 63 - 1
PHP_WS = " \t\n\r\x0b\x0c"
NUMERIC_RE = re.compile(r"[ \t\n\r\x0b\x0c]*(?P<num>[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)"
                        r"(?P<exp>[eE][+-]?[0-9]+)?)[ \t\n\r\x0b\x0c]*")


def php_numeric_string(s):
    """PHP 8 is_numeric_string(): ('int', n) / ('float', x) / None.
    Leading and trailing " \\t\\n\\r\\v\\f" allowed; no hex, no "inf", no "_"."""
    m = NUMERIC_RE.fullmatch(s)
    if not m:
        return None
    num = m.group("num")
    if "." not in num and not m.group("exp"):
        n = int(num)
        if INT64_MIN <= n <= INT64_MAX:
            return ("int", n)
    return ("float", float(num))          # zend_strtod: correctly rounded, inf on overflow


def php_from_json(v):
    """The PHP value json_decode($line, true) produces."""
    if v is MISSING or v is None:
        return ("null", None)
    if isinstance(v, IntLex):
        n = int(v)
        if INT64_MIN <= n <= INT64_MAX:
            return ("int", n)
        return ("float", float(v))          # big ints become doubles
    if isinstance(v, FloatLex):
        return ("float", float(v))
    if isinstance(v, bool):
        return ("bool", v)
    if isinstance(v, str):
        return ("str", v)
    return ("array", len(v))


def php_is_numeric(pv):
    kind, x = pv
    if kind in ("int", "float"):
        return True
    return kind == "str" and php_numeric_string(x) is not None


def php_empty(pv):
    kind, x = pv
    if kind == "null":
        return True
    if kind == "bool":
        return not x
    if kind in ("int", "float"):
        return x == 0
    if kind == "str":
        return x in ("", "0")
    return x == 0


def php_number(pv):
    kind, x = pv
    if kind in ("int", "float"):
        return pv
    return php_numeric_string(x)


def _helper(v):
    return float(math.floor(v + 0.5)) if v >= 0.0 else float(math.ceil(v - 0.5))


def _pow10(p):
    return math.pow(10.0, p) if p < 0 or p > 22 else float("1e%d" % p)


def php_round2(value, steps):
    """_php_math_round(value, 2, PHP_ROUND_HALF_UP) of PHP 8.0-8.3, with the
    steps described in `steps` (verified against php 8.2 on 400k doubles)."""
    places = 2
    if not math.isfinite(value) or value == 0.0:
        steps.append("round() returns %s unchanged" % fmt_float(value))
        return value
    pp = 14 - math.floor(math.log10(abs(value)))
    f1 = _pow10(places)
    if places < pp < places + 15:
        t = value * _pow10(pp) if pp >= 0 else value / _pow10(-pp)
        r = _helper(t)
        t2 = r / _pow10(pp - places)
        steps.append("round() pre-rounds to 15 significant digits: × 1e%d = %s → %s, ÷ 1e%d = %s"
                     % (pp, fmt_float(t, 25), fmt_float(r), pp - places, fmt_float(t2, 25)))
        t = t2
    else:
        t = value * f1
        if abs(t) >= 1e15:
            steps.append("round(): value × 100 = %s ≥ 1e15, returned unchanged (no rounding)"
                         % fmt_float(t, 25))
            return value
        steps.append("round(): × 100 = %s" % fmt_float(t, 25))
    r = _helper(t)
    res = r / f1
    steps.append("half-up → %s, ÷ 100 = %s" % (fmt_float(r), fmt_float(res)))
    return res


def php_answer(fields, steps=None):
    """Model of harness.php for one decoded input.  Returns ("errors", [...]),
    ("cpc", float) — float may be inf/nan — and fills `steps` with the
    arithmetic PHP performs."""
    if steps is None:
        steps = []
    pid, cpc, roas = (php_from_json(fields[name]) for name, _ in FIELDS)
    errors = []
    if php_empty(pid) or not php_is_numeric(pid):
        errors.append("Invalid product ID")
    if not php_is_numeric(cpc) or php_number(cpc)[1] < 0:
        errors.append("Invalid current CPC")
    if not php_is_numeric(roas) or php_number(roas)[1] <= 0:
        errors.append("Invalid target ROAS")
    if errors:
        for (name, _), pv in zip(FIELDS, (pid, cpc, roas)):
            if pv[0] in ("int", "float") or (pv[0] == "str" and php_is_numeric(pv)):
                n = php_number(pv)
                if n[0] == "float" or type(fields[name]) is str:
                    steps.append("%s %s → PHP %s" % (name, show_value(fields[name]), describe_php(n)))
        steps.append("validation fails: %s" % ", ".join(errors))
        return ("errors", errors)
    c = php_number(cpc)
    r = php_number(roas)
    steps.append("current_cpc %s → PHP %s" % (show_value(fields["current_cpc"]), describe_php(c)))
    steps.append("target_roas %s → PHP %s" % (show_value(fields["target_roas"]), describe_php(r)))
    # $targetRoas / 100
    if r[0] == "int" and r[1] % 100 == 0:
        q = ("int", r[1] // 100)
    else:
        q = ("float", float(r[1]) / 100.0)
    steps.append("target_roas / 100 = %s" % describe_php(q))
    # $currentCpc * (...)
    if c[0] == "int" and q[0] == "int":
        p = c[1] * q[1]
        if INT64_MIN <= p <= INT64_MAX:
            prod = ("int", p)
        else:
            prod = ("float", float(c[1]) * float(q[1]))
            steps.append("int × int overflows int64, PHP switches to double")
    else:
        prod = ("float", float(c[1]) * float(q[1]))
    steps.append("product = %s" % describe_php(prod))
    if prod[0] == "int":
        res = float(prod[1])
        steps.append("round(int, 2) = (double) %d = %s" % (prod[1], fmt_float(res)))
    else:
        res = php_round2(prod[1], steps)
    if math.isfinite(res):
        steps.append("json_encode() prints %s" % php_json_text(res))
    return ("cpc", res)


def describe_php(pv):
    kind, x = pv
    if kind == "int":
        return "int %d" % x
    return "double %s" % fmt_float(x, 60)


def fmt_float(x, max_digits=40):
    """Exact decimal expansion of a double (shortened when very long)."""
    if math.isnan(x):
        return "NAN"
    if math.isinf(x):
        return "INF" if x > 0 else "-INF"
    return fmt_dec(Decimal(x), max_digits)


def fmt_dec(d, max_digits=60):
    """A Decimal as plain text, or in exponent form with `max_digits`
    significant digits ("…" marks a cut) when it would be long."""
    if not d.is_finite():
        return str(d)
    if d.is_zero():
        return format(d, "f")
    sign, digits, _ = d.as_tuple()
    digits = "".join(map(str, digits)).lstrip("0") or "0"
    plain = format(d, "f")
    if len(plain.lstrip("-")) <= max(max_digits, 24):
        return plain
    adj = d.adjusted()
    shown = digits[:max_digits].rstrip("0") or "0"
    cut = "…" if len(digits.rstrip("0")) > max_digits else ""
    mant = shown[0] + ("." + shown[1:] if len(shown) > 1 else "")
    return "%s%s%se%+d" % ("-" if sign else "", mant, cut, adj)


def php_json_text(x):
    """json_encode() of a finite double with serialize_precision = -1:
    shortest round-trip digits, php_gcvt() layout (plain unless the decimal
    exponent is < -4 or >= 17, then "1.0e+25"; no ".0" on integral values)."""
    if x == 0:
        return "-0" if math.copysign(1.0, x) < 0 else "0"
    sign, digits, exp = Decimal(repr(x)).as_tuple()
    digits = "".join(map(str, digits)).rstrip("0") or "0"
    exp = Decimal(repr(x)).adjusted()                 # x = d.ddd × 10**exp
    decpt = exp + 1
    neg = "-" if sign else ""
    if decpt < -3 or decpt > 17:
        mant = digits[0] + "." + (digits[1:] or "0")
        return "%s%se%s%d" % (neg, mant, "-" if exp < 0 else "+", abs(exp))
    if decpt <= 0:
        return "%s0.%s%s" % (neg, "0" * -decpt, digits)
    if decpt >= len(digits):
        return neg + digits + "0" * (decpt - len(digits))
    return neg + digits[:decpt] + "." + digits[decpt:]


def php_json_number(x):
    """What harness.php prints for a double, as a Decimal (None for INF/NAN)."""
    if not math.isfinite(x):
        return None
    return Decimal(repr(x))       # repr == shortest round-trip == serialize_precision -1


# ---------------------------------------------------------------------------
# Exact decimal semantics (what BidEngine is expected to compute)
# ---------------------------------------------------------------------------

def exact_value(v):
    """Exact Decimal of a numeric input value (JSON number or PHP-numeric
    string), or None when PHP would not consider it numeric."""
    if isinstance(v, (IntLex, FloatLex)):
        return Decimal(str(v))
    if isinstance(v, str) and not isinstance(v, bool) and php_numeric_string(v) is not None:
        return Decimal(NUMERIC_RE.fullmatch(v).group("num"))
    return None


def exact_empty(v):
    if v is MISSING or v is None or v is False:
        return True
    if isinstance(v, (IntLex, FloatLex)):
        return Decimal(str(v)).is_zero()
    if isinstance(v, str):
        return v in ("", "0")
    if isinstance(v, (list, dict)):
        return len(v) == 0
    return False


def unrepresentable(v):
    """Why a numeric input value does not fit BidEngine's decimal (or None)."""
    d = exact_value(v)
    if d is None or d.is_zero():
        return None
    text = str(v) if isinstance(v, (IntLex, FloatLex)) else NUMERIC_RE.fullmatch(v).group("num")
    mantissa = re.split(r"[eE]", text)[0]
    lexical_digits = len(re.sub(r"[^0-9]", "", mantissa).lstrip("0"))
    _, digits, exp = d.as_tuple()
    digits = list(digits)
    while len(digits) > 1 and digits[-1] == 0:      # value, not spelling: 1.50 has 2 digits
        digits.pop()
        exp += 1
    if d.adjusted() >= MAX_DIGITS:
        return "magnitude ≥ 1e%d" % MAX_DIGITS
    if exp < -MAX_DIGITS:
        return "more than %d fractional digits" % MAX_DIGITS
    if len(digits) > MAX_DIGITS:
        return "more than %d significant digits" % MAX_DIGITS
    if lexical_digits > MAX_DIGITS:
        return "written with more than %d digits" % MAX_DIGITS
    return None


def exact_answer(fields, reject_unrepresentable=False):
    """The legacy rules evaluated on exact decimals.  Returns
    (("errors", [...]) or ("cpc", Decimal), notes)."""
    notes = []
    pid, cpc, roas = (fields[name] for name, _ in FIELDS)
    errors = []
    bad = {}
    if reject_unrepresentable:
        for name, msg in FIELDS:
            why = unrepresentable(fields[name])
            if why:
                bad[name] = why
    if exact_empty(pid) or exact_value(pid) is None or "product_id" in bad:
        errors.append("Invalid product ID")
        if "product_id" not in bad:
            notes.append("product_id %s is %s" % (
                show_value(pid), "empty" if exact_empty(pid) else "not numeric"))
    c = exact_value(cpc)
    if c is None or c < 0 or "current_cpc" in bad:
        errors.append("Invalid current CPC")
        if "current_cpc" not in bad:
            notes.append("current_cpc %s is %s" % (
                show_value(cpc), "not numeric" if c is None else "negative"))
    r = exact_value(roas)
    if r is None or r <= 0 or "target_roas" in bad:
        errors.append("Invalid target ROAS")
        if "target_roas" not in bad:
            notes.append("target_roas %s is %s" % (
                show_value(roas), "not numeric" if r is None else "not > 0"))
    for name, reason in bad.items():
        notes.append("%s %s is not representable in BidEngine's %d-digit decimal (%s)"
                     % (name, show_value(fields[name]), MAX_DIGITS, reason))
    if errors:
        notes = ["exact: " + "; ".join(notes) + " → " + ", ".join(errors)]
        return ("errors", errors), notes
    product = CTX.multiply(c, r).scaleb(-2, CTX)
    if not product.is_finite() or product.adjusted() > 200:
        rounded = product                      # far beyond any range; no cents to round
    else:
        rounded = product.quantize(CENT, context=CTX)
    notes.append("exact: %s × %s / 100 = %s → %s (half away from zero)"
                 % (fmt_dec(c), fmt_dec(r), fmt_dec(product, 60), fmt_dec(rounded, 60)))
    return ("cpc", rounded), notes


# ---------------------------------------------------------------------------
# Answers and agreement
# ---------------------------------------------------------------------------

def parse_answer(text):
    """("errors", tuple) / ("cpc", Decimal) / ("other", text)."""
    try:
        obj = json.loads(text, parse_float=Decimal, parse_int=Decimal)
    except ValueError:
        return ("other", text)
    if isinstance(obj, dict) and len(obj) == 1:
        if "errors" in obj and isinstance(obj["errors"], list) \
                and all(isinstance(e, str) for e in obj["errors"]):
            return ("errors", tuple(obj["errors"]))
        if "adjusted_cpc" in obj and isinstance(obj["adjusted_cpc"], Decimal) \
                and obj["adjusted_cpc"].is_finite():
            return ("cpc", obj["adjusted_cpc"])
    return ("other", text)


def agree(a, b):
    if a[0] != b[0] or a[0] == "other":
        return False
    return a[1] == b[1]            # tuple equality / exact Decimal equality


def same_as(expected, got):
    """Does a parsed answer equal an expected ("errors", list)/("cpc", Decimal)?"""
    if expected[0] == "errors":
        return got[0] == "errors" and tuple(expected[1]) == got[1]
    return got[0] == "cpc" and got[1] == expected[1]


# ---------------------------------------------------------------------------
# Classification of one mismatch
# ---------------------------------------------------------------------------

def classify(input_text, php_text, bid_text):
    """Returns (class, why)."""
    fields = parse_input(input_text)
    bid = parse_answer(bid_text)
    if fields is None:
        return "?", "input is not a JSON object; both sides should answer Malformed JSON"
    php_steps = []
    model = php_answer(fields, php_steps)
    php_real = parse_answer(php_text)
    model_ok = model_matches(model, php_real, php_text)
    php_why = "; ".join(php_steps)
    if model[0] == "cpc" and not math.isfinite(model[1]):
        php_why += "; json_encode() cannot encode %s" % fmt_float(model[1])
    if not model_ok:
        php_why = "(the Python model of PHP does not reproduce PHP's answer here) " + php_why

    exact, exact_notes = exact_answer(fields)
    limited, limited_notes = exact_answer(fields, reject_unrepresentable=True)

    # (a) BidEngine = exact decimal arithmetic, PHP differs because of doubles.
    if same_as(exact, bid) and model_ok:
        return "a", "%s. PHP: %s" % ("; ".join(exact_notes), php_why)
    # (b) an input value does not fit BidEngine's decimal: rejected with the
    #     field's legacy message.
    if limited != exact and same_as(limited, bid) and model_ok:
        return "b", "%s. PHP: %s" % ("; ".join(limited_notes), php_why)
    # (c) the adjusted CPC does not fit BidEngine's decimal.
    if (bid[0] == "errors" and bid[1] == (OUT_OF_RANGE,) and exact[0] == "cpc"
            and abs(exact[1]) >= RESULT_LIMIT and model_ok):
        return "c", "%s; |result| ≥ 1e%d does not fit BidEngine's decimal (2 fractional digits) → %s. PHP: %s" % (
            "; ".join(exact_notes), MAX_DIGITS - 2, OUT_OF_RANGE, php_why)
    exp_text = answer_text(exact)
    return "?", "UNCLASSIFIED: exact decimal rules give %s; %s. PHP: %s" % (
        exp_text, "; ".join(exact_notes), php_why)


def model_matches(model, php_real, php_text):
    if model[0] == "errors":
        return php_real == ("errors", tuple(model[1]))
    x = model[1]
    if math.isnan(x):
        return php_text.strip() == '{"adjusted_cpc":"NAN"}'
    if math.isinf(x):
        return php_text.strip() == '{"adjusted_cpc":"%s"}' % ("INF" if x > 0 else "-INF")
    return php_real[0] == "cpc" and php_real[1] == php_json_number(x)


def answer_text(ans):
    if ans[0] == "errors":
        return json.dumps({"errors": list(ans[1])})
    return '{"adjusted_cpc":%s}' % fmt_dec(ans[1])


# ---------------------------------------------------------------------------
# DIFFERENCES.md table
# ---------------------------------------------------------------------------

HEADER = ["Class", "Input", "PHP", "BidEngine", "Why"]


def code_span(text):
    """Markdown code span for arbitrary text, with | escaped for tables."""
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if (text.startswith("`") or text.endswith("`")
                  or (text.startswith(" ") and text.endswith(" ") and text.strip())) else ""
    return (fence + pad + text + pad + fence).replace("|", "\\|")


def cell_text(text):
    return text.replace("|", "\\|").replace("\n", " ")


def unspan(cell):
    """Inverse of code_span() for a cell already split and un-escaped."""
    m = re.fullmatch(r"(`+)(.*)\1", cell, re.DOTALL)
    if not m:
        return cell
    body = m.group(2)
    if len(body) >= 2 and body.startswith(" ") and body.endswith(" ") and body.strip():
        body = body[1:-1]
    return body


def split_row(row):
    """Split a markdown table row on unescaped pipes; un-escape \\| in cells."""
    row = row.strip()
    row = row.removeprefix("|")
    if row.endswith("|") and not row.endswith("\\|"):
        row = row[:-1]
    cells = re.split(r"(?<!\\)\|", row)
    return [c.strip().replace("\\|", "|") for c in cells]


def read_table(path):
    """{(input, php, bid): class} from DIFFERENCES.md, plus the file text."""
    with open(path, encoding="utf-8", errors="surrogateescape") as f:
        text = f.read()
    start = text.find(TABLE_START)
    end = text.find(TABLE_END)
    if start < 0 or end < 0 or end < start:
        raise SystemExit("compare.py: %s has no %s … %s section" % (path, TABLE_START, TABLE_END))
    rows = {}
    for raw in text[start + len(TABLE_START):end].splitlines():
        if not raw.strip().startswith("|"):
            continue
        cells = split_row(raw)
        if len(cells) < 4 or cells[0] == "Class" or re.fullmatch(r":?-+:?", cells[0]):
            continue
        cls = cells[0].strip("()")
        rows[(unspan(cells[1]), unspan(cells[2]), unspan(cells[3]))] = cls
    return rows, text


def render_table(rows):
    out = ["| " + " | ".join(HEADER) + " |", "|" + "|".join("---" for _ in HEADER) + "|"]
    for cls, inp, php, bid, why in rows:
        out.append("| %s | %s | %s | %s | %s |" % (
            "(%s)" % cls if cls != "?" else "?", code_span(inp), code_span(php), code_span(bid),
            cell_text(why)))
    return "\n".join(out)


def write_table(path, text, rows):
    start = text.find(TABLE_START) + len(TABLE_START)
    end = text.find(TABLE_END)
    counts = {}
    for r in rows:
        counts[r[0]] = counts.get(r[0], 0) + 1
    summary = ", ".join("%s: %d" % ("(%s)" % k if k != "?" else "unclassified", counts[k])
                        for k in sorted(counts, key=CLASS_ORDER.get)) or "none"
    block = ("\n<!-- generated by legacy/compare.py --write-differences; do not edit by hand -->\n"
             "%d rows (%s).\n\n%s\n" % (len(rows), summary, render_table(rows)))
    new = text[:start] + block + text[end:]
    with open(path, "w", encoding="utf-8", errors="surrogateescape") as f:
        f.write(new)
    return new


# ---------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------

def read_lines(path):
    with open(path, encoding="utf-8", errors="surrogateescape", newline="") as f:
        data = f.read()
    lines = data.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [l.removesuffix("\r") for l in lines]


def display_path(path):
    p = os.path.abspath(path)
    if p.startswith(ROOT + os.sep):
        return os.path.relpath(p, ROOT)
    return path


def main(argv=None):
    ap = argparse.ArgumentParser(
        description="Compare BidEngine's price answers with the legacy PHP answers.",
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("\n\n", 2)[2])
    ap.add_argument("php_out")
    ap.add_argument("bidengine_out")
    ap.add_argument("inputs")
    ap.add_argument("--differences", default=DEFAULT_DIFFERENCES,
                    help="DIFFERENCES.md with the table of explained mismatches")
    ap.add_argument("--write-differences", action="store_true",
                    help="regenerate the table section of DIFFERENCES.md from the mismatches")
    ap.add_argument("--check-php-model", action="store_true",
                    help="also check the Python model of PHP against every PHP answer")
    ap.add_argument("--show", type=int, default=20, metavar="N",
                    help="print at most N unexplained mismatches (default %(default)s)")
    args = ap.parse_args(argv)

    php = read_lines(args.php_out)
    bid = read_lines(args.bidengine_out)
    inputs = read_lines(args.inputs)
    n = min(len(php), len(bid), len(inputs))
    counts_ok = len(php) == len(bid) == len(inputs)
    if not counts_ok:
        print("parity: line counts differ: inputs %d, PHP %d, BidEngine %d"
              % (len(inputs), len(php), len(bid)))

    mismatches = []                      # (line number, input, php, bid)
    for i in range(n):
        p, b = php[i].strip(), bid[i].strip()
        if p == b:
            continue
        if not agree(parse_answer(p), parse_answer(b)):
            mismatches.append((i + 1, inputs[i], p, b))

    if args.check_php_model:
        check_model(inputs[:n], php[:n])

    table, text = read_table(args.differences)
    if args.write_differences:
        rows = {}
        for _, inp, p, b in mismatches:
            key = (inp, p, b)
            if key not in rows:
                rows[key] = classify(inp, p, b)
        ordered = sorted(((cls, k[0], k[1], k[2], why) for k, (cls, why) in rows.items()),
                         key=lambda r: (CLASS_ORDER[r[0]], r[1], r[2], r[3]))
        write_table(args.differences, text, ordered)
        table, text = read_table(args.differences)
        print("parity: wrote %d rows to %s" % (len(ordered), display_path(args.differences)))

    explained = 0
    unexplained = []
    used = set()
    for m in mismatches:
        key = (m[1], m[2], m[3])
        cls = table.get(key)
        if cls is not None and cls != "?":
            explained += 1
            used.add(key)
        else:
            unexplained.append(m)

    for lineno, inp, p, b in unexplained[:args.show]:
        cls, why = classify(inp, p, b)
        print("line %d: input %s\n  PHP:       %s\n  BidEngine: %s\n  suggested class %s: %s"
              % (lineno, inp, p, b, cls, why))
    if len(unexplained) > args.show:
        print("… %d more unexplained mismatches" % (len(unexplained) - args.show))
    stale = sum(1 for k, c in table.items() if c != "?" and k not in used)
    if stale:
        print("note: %d table rows in %s match no current mismatch (stale; regenerate with "
              "--write-differences)" % (stale, display_path(args.differences)))

    print("parity: compared %d lines against PHP: %d mismatches (%d explained in %s, %d unexplained)"
          % (n, len(mismatches), explained, display_path(args.differences), len(unexplained)))
    return 0 if counts_ok and not unexplained else 1


def check_model(inputs, php):
    bad = 0
    for i, (inp, p) in enumerate(zip(inputs, php)):
        fields = parse_input(inp)
        if fields is None:
            ok = p.strip() == '{"errors":["Malformed JSON"]}'
        else:
            ok = model_matches(php_answer(fields), parse_answer(p.strip()), p)
        if not ok:
            bad += 1
            if bad <= 10:
                print("php-model: line %d differs: input %s PHP %s model %s"
                      % (i + 1, inp, p, php_answer(fields) if fields else "Malformed JSON"))
    print("php-model: %d of %d PHP answers reproduced by the Python model"
          % (len(inputs) - bad, len(inputs)))


if __name__ == "__main__":
    sys.exit(main())
