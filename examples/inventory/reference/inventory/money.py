"""Money as `Decimal` amounts rounded to cents, half up, the way invoices round."""

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")


def to_money(value: Decimal | int | str) -> Decimal:
    """Round a value to whole cents.

    Args:
        value: an amount; strings are read exactly, never through a float.

    Returns:
        The amount rounded half up to two decimal places.

    >>> to_money("2.345")
    Decimal('2.35')
    >>> to_money(3)
    Decimal('3.00')
    """
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def format_money(amount: Decimal, currency: str = "EUR") -> str:
    """Format an amount for people, with thousands separators.

    Args:
        amount: the amount to show.
        currency: the currency code written after the amount.

    Returns:
        Text such as ``1,234.50 EUR``.

    >>> format_money(Decimal("1234.5"))
    '1,234.50 EUR'
    """
    return f"{to_money(amount):,.2f} {currency}"


def percent_of(amount: Decimal, percent: Decimal | int) -> Decimal:
    """Take a percentage of an amount, rounded to cents.

    Args:
        amount: the base amount.
        percent: the percentage, 0 to 100.

    Returns:
        ``amount * percent / 100`` in whole cents.

    >>> percent_of(Decimal("19.99"), 10)
    Decimal('2.00')
    """
    return to_money(amount * Decimal(percent) / 100)


def split_evenly(amount: Decimal, parts: int) -> list[Decimal]:
    """Split an amount into parts that differ by at most one cent and add up exactly.

    Args:
        amount: the amount to split.
        parts: how many shares, at least one.

    Returns:
        The shares, larger ones first.

    Raises:
        ValueError: parts is below one.

    >>> split_evenly(Decimal("10.00"), 3)
    [Decimal('3.34'), Decimal('3.33'), Decimal('3.33')]
    """
    if parts < 1:
        raise ValueError(f"cannot split into {parts} parts")
    cents = int(to_money(amount) / CENT)
    share, left = divmod(cents, parts)
    return [(share + (1 if i < left else 0)) * CENT for i in range(parts)]
