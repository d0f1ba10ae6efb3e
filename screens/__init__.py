"""The Textual wizard and the line-mode face."""
