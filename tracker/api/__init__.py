"""The JSON API (/api/v1) for mobile capture apps and integrations.

Authentication is by bearer token only, never by the browser's session cookie, so requests carry no
ambient credentials and CSRF does not apply (the blueprint is exempt for that reason alone).
"""
