"""Signing in and out, passwords, invitations."""
