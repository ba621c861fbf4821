"""The answer path after evidence: the prompt (``prompting``: passage headers, messages, the
refusal marker), the citations (``citations``), the rules a reply is checked with (``rules``)
and the one decision whether it is shown (``checks.finish``)."""

from qa.answering.checks import Verdict, abstain_reason, finish

__all__ = ["Verdict", "abstain_reason", "finish"]
