"""The accounts app's own refusals."""

from touchpoint.core.errors import DomainError


class InvitationClosed(DomainError):
    """The link was right once, but the invitation expired, was withdrawn or has been used."""

    status = 410
    code = "invitation_closed"
