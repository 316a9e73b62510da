"""The knowledge base's refusals beyond the shared ones (touchpoint.core.errors)."""

from touchpoint.core.errors import DomainError


class RateLimited(DomainError):
    """Too many searches or answers from one visitor or address: wait `retry_after` seconds."""

    status = 429
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after
