"""Consent: what a patient agreed to, and withdrawing it."""
