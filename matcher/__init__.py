"""coopmatch — funding matching for the just ecological transition.

The ``matcher`` package holds what both sides share (vocabularies, territories,
value parsers, readers, header mapping) and the matching engine itself; the
``projects`` and ``funders`` packages hold the profile pipelines.
"""

__version__ = "0.1.0"
