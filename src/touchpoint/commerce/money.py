"""Money as a store writes it: a Decimal amount in an ISO 4217 currency, never a float.

The table gives each active ISO 4217 currency its minor units (how many decimals an amount may have:
2 for USD and EUR, 0 for JPY, 3 for KWD), so an amount like 12.345 USD is refused instead of being
rounded silently: a total that does not match the store's own figure would hide a bug in the feed.
"""

from decimal import Decimal, InvalidOperation

from touchpoint.core.errors import ValidationFailed

_ZERO = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF"
_THREE = "BHD IQD JOD KWD LYD OMR TND"
_FOUR = "CLF UYW"
_TWO = (
    "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BOV BRL BSD BTN BWP BYN BZD CAD CDF CHE "
    "CHF CHW CNY COP COU CRC CUC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GTQ GYD HKD "
    "HNL HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW KYD KZT LAK LBP LKR LRD LSL MAD MDL MGA MKD MMK MNT MOP MRU "
    "MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD PAB PEN PGK PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG "
    "SEK SGD SHP SLE SLL SOS SRD SSP STN SVC SYP SZL THB TJS TMT TOP TRY TTD TWD TZS UAH USD USN UYU UZS VED VES "
    "WST XCD XCG YER ZAR ZMW ZWG ZWL"
)
MINOR_UNITS: dict[str, int] = {
    **{code: 2 for code in _TWO.split()},
    **{code: 0 for code in _ZERO.split()},
    **{code: 3 for code in _THREE.split()},
    **{code: 4 for code in _FOUR.split()},
}
SYMBOLS = {"USD": "$", "GBP": "£", "EUR": "€", "JPY": "¥", "AUD": "A$", "CAD": "C$", "NZD": "NZ$", "CHF": "CHF ",
           "INR": "₹"}
MAX_AMOUNT = Decimal("9999999999")  # ten digits before the point: the columns keep 14 digits with 4 decimals


def currency(value: object, *, field: str = "currency", where: str = "") -> str:
    """The ISO 4217 code, upper-cased; anything else is refused with what to send instead."""
    code = value.strip().upper() if isinstance(value, str) else ""
    if code not in MINOR_UNITS:
        raise ValidationFailed(f"{where}{value!r} is not an ISO 4217 currency code; send three letters such as "
                               "USD, EUR or GBP.", code="unknown_currency", field=field)
    return code


def amount(value: object, code: str, *, field: str, where: str = "", allow_zero: bool = True) -> Decimal:
    """A non-negative amount with no more decimals than the currency has. Text such as "19.99" is read
    exactly; a float is refused, since it may already have lost the cents."""
    if isinstance(value, bool) or isinstance(value, float):
        raise ValidationFailed(f"{where}{field}: send the amount as a decimal string such as \"19.99\", not a "
                               "binary floating-point number.", code="invalid_amount", field=field)
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ValidationFailed(f"{where}{field}: {value!r} is not a number; write it like 19.99 (a point before "
                               "the cents, no currency sign, no thousands separator).", code="invalid_amount",
                               field=field) from None
    if not number.is_finite():
        raise ValidationFailed(f"{where}{field}: {value!r} is not a finite amount.", code="invalid_amount", field=field)
    if number < 0:
        raise ValidationFailed(f"{where}{field}: {number} is negative; amounts are 0 or more.",
                               code="negative_amount", field=field)
    if number == 0 and not allow_zero:
        raise ValidationFailed(f"{where}{field}: the amount must be more than 0.", code="invalid_amount", field=field)
    if number > MAX_AMOUNT:
        raise ValidationFailed(f"{where}{field}: {number} is too large (at most {MAX_AMOUNT}).", code="invalid_amount",
                               field=field)
    places = MINOR_UNITS[code]
    exponent = number.as_tuple().exponent
    if isinstance(exponent, int) and -exponent > places and number != number.quantize(Decimal(1).scaleb(-places)):
        raise ValidationFailed(f"{where}{field}: {code} amounts have {places} decimal place{'s' if places != 1 else ''};"
                               f" {number} has more.", code="invalid_amount", field=field)
    return number.quantize(Decimal(1).scaleb(-places))


def format_money(value: Decimal, code: str) -> str:
    """How a person reads the amount: $129.00, £49.50, 1,200 JPY when there is no common symbol."""
    places = MINOR_UNITS.get(code, 2)
    text = f"{value:,.{places}f}"
    symbol = SYMBOLS.get(code)
    return f"{symbol}{text}" if symbol else f"{text} {code}"
