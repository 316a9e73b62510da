"""The commerce app's refusals. Each has a stable code a store's integration can branch on."""

from touchpoint.core.errors import Conflict, ValidationFailed


class TotalsMismatch(ValidationFailed):
    """The order's lines, discount, shipping and tax do not make its total: a feed bug to fix at the source."""

    code = "totals_mismatch"


class UnknownSku(ValidationFailed):
    code = "unknown_sku"


class UnknownOrder(ValidationFailed):
    code = "unknown_order"


class SkuTaken(Conflict):
    """A SKU names one variant of one product; pushing it under another product is refused, not moved."""

    code = "sku_taken"


class ImportRefused(ValidationFailed):
    """A file that cannot be read at all (size, encoding, columns), before any row is looked at."""

    code = "import_refused"
