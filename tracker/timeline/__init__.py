"""Timelines of treated areas, before/after comparison, and capture with the baseline as a ghost."""
