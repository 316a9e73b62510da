"""SMS and WhatsApp numbers, spoken to in Twilio's wire format: signed form-encoded webhooks in,
REST calls out."""
