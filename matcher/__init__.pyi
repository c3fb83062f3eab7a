"""Type stub of the front door: the names :mod:`matcher` loads on first use."""


__version__: str
__all__: list[str]
