"""Pricing (the legacy rule, exactly: round(cpc × roas / 100, 2), half away from zero)"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, localcontext


def expected_adjusted(cpc: str, roas: str) -> Decimal:
    with localcontext() as context:
        context.prec = 200
        value = Decimal(cpc) * Decimal(roas) / Decimal(100)
        # Inputs are non-negative here, so half-up is half away from zero.
        return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
