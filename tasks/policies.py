"""Periodic policy work: status by date, quote expiry, renewal reminders (thin wrappers around services)."""
