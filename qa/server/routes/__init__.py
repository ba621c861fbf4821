"""The route groups of the HTTP API, each added to the app by ``create_app``
(``qa.server.app``): ``health``, ``answers`` (ask, search, feedback), ``collections``,
``documents``. The OpenAI routes are in ``qa.server.openai_compat``, the MCP tools in
``qa.mcp``. Each route parses, calls the library through the ``Server`` of its collection
(``root.pick``) and returns JSON; the exceptions become status codes in ``qa.server.errors``.
"""
