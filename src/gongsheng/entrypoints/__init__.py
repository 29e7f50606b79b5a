"""Entry points: command line, HTTP API and web pages. They parse, call a use case, render."""
