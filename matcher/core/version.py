"""The package version, in one place (read by setup.cfg and ``coopmatch --version``)."""

VERSION = "0.1.0"
