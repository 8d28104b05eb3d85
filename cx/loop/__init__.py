"""Closing the loop: attribute alerts, routing rules (language, store, run), complaint cases for
advisors and teleoperators, and notifications through the outbox with one SMTP/Telegram transport."""
