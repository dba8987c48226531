"""Clinic administration: staff, roles and invitations."""
