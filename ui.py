#!/usr/bin/env python
"""The chat window from a checkout: ``python ui.py`` (then open the printed URL; ``--help`` for
the options). The code is ``qa.ui.window``, importable from the installed package (``qa serve
--ui`` mounts it); ``import ui`` gives that module itself, so old imports and patches reach it."""

import sys

import qa.ui.window as _window

if __name__ == "__main__":
    sys.exit(_window.main())
sys.modules[__name__] = _window
