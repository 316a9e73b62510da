"""Phone calls reported by a telephony system through signed call-event webhooks."""
