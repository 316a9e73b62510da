"""The email channel: inbound mail (SMTP server, IMAP polling, provider webhook) and outbound SMTP."""
