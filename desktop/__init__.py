"""Lumen's desktop app and command line. The only package that imports Qt."""
