"""One exception family for every problem a user can cause.

The CLI turns any :class:`CoopmatchError` into ``Error: <message>`` and a
non-zero exit code; anything else is a bug and keeps its traceback.
"""


class CoopmatchError(Exception):
    """Base class of every user-facing error in coopmatch."""


class InputError(CoopmatchError):
    """A file cannot be read: missing, empty, not a table, bad encoding."""


class MappingError(CoopmatchError):
    """Headers cannot be mapped to canonical fields (bad --map, missing required field)."""


class VocabularyError(CoopmatchError):
    """A vocabulary or territory lookup was asked something impossible."""


class MatchingError(CoopmatchError):
    """The matcher was used wrongly: unknown id, bad weight, not fitted."""
