"""The before/after gallery (staff and patient side), consultation requests, and the public clinic page."""
