"""Photos: upload, view, edit, delete; the bytes are served only through views that check access."""
