"""The command line: the only package that imports typer or rich.

``main`` holds the app and the one error boundary; each other module is a command group.
Heavy libraries (lxml, cryptography, py7zr) are imported inside commands, not at start-up.
"""
