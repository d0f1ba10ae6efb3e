"""DIGIT installer: one pipeline over one answers file, with a wizard and a headless face."""
__version__ = "0.1.0"
