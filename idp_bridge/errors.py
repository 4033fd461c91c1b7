"""The one exception root of idp-bridge.

Authentication paths catch these named exceptions only, so that a bug is a bug (a 500 in tests,
an alert in production) and never silently becomes an access decision.
"""


class BridgeError(Exception):
    """Root of every error idp-bridge raises on purpose."""


class ConfigurationError(BridgeError):
    """A setting or the mapping file is wrong; the message names it and the fix."""
