"""The chat window. ``app`` holds the parts every browser session shares, without Gradio
(``App``); ``window`` builds the Gradio page on them and runs it (``main``: ``python ui.py``,
``qa serve --ui``). Importing this package does not import Gradio."""

from qa.ui.app import App, doc_rows

__all__ = ["App", "doc_rows"]
