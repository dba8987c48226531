"""The front door: the home page for each role, and the health check."""
