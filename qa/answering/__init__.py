"""The answer path: how a reply is judged before it is shown (``checks.finish``).

The prompt and the citations live in ``qa.prompting`` for now and move here with the next work
that changes them (``../shared/STYLE.md``)."""

from qa.answering.checks import Verdict, abstain_reason, finish

__all__ = ["Verdict", "abstain_reason", "finish"]
