"""Moved: the prompt is ``qa.answering.prompting``, citations ``qa.answering.citations``, the
rules a reply is checked with ``qa.answering.rules``. These names are re-exported here for one
release so old imports keep working; import from the new modules."""

from qa.answering.citations import (  # noqa: F401 - re-exports for one release
    add_missing_markers,
    make_citations,
    normalize_markers,
)
from qa.answering.prompting import (  # noqa: F401 - re-exports for one release
    ABSTAIN_TEXT,
    GLOSSARY_DE_EN,
    INSTRUCTION,
    NOT_FOUND,
    PARTS,
    REFUSAL_MARKERS,
    REST_MISSING_TEXT,
    SYSTEM_PROMPT,
    approx_tokens,
    build_messages,
    could_be_refusal,
    format_context,
    is_refusal,
    select_passages,
    shows_title,
    split_partial,
)
from qa.answering.rules import (  # noqa: F401 - re-exports for one release
    drop_copied_titles,
    fix_german_decimals,
    fix_german_trillions,
    fix_magnitudes,
    lacks_what_was_asked,
    postprocess,
    unsupported_names,
    unsupported_numbers,
)
from qa.text import (  # noqa: F401 - re-exports for one release
    detect_language,
)
