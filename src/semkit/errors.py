"""semkit's one exception tree.

    SemkitError                 anything semkit raises on purpose; catch this to catch them all
    ├── InputError              the caller's input is wrong (empty text, bad shape, NaN, bad filter)
    │   ├── NotFoundError       a collection or document that was named does not exist
    │   └── TooLongError        texts over the model's limit that may not be cut
    ├── ConfigError             a setting or option is invalid
    │   └── MissingExtraError   an optional dependency is not installed (names the extra)
    ├── ModelError              a model cannot be found, loaded or used as asked
    ├── ProviderError           an embedding provider failed or answered wrongly
    │   └── RateLimitError      the provider kept refusing after the retry budget was spent
    └── StoreError              a database or index file cannot be read or written
        └── LockedError         another writer holds the database

The CLI prints ``str(error)`` on one line and exits with code 2 for every
``SemkitError``; messages therefore say what went wrong *and* what to do.
"""

from __future__ import annotations


class SemkitError(Exception):
    """Base class of every error semkit raises on purpose."""


class InputError(SemkitError, ValueError):
    """The caller passed something semkit cannot use."""


class NotFoundError(InputError, LookupError):
    """A collection or document named by the caller does not exist."""


class TooLongError(InputError):
    """Texts exceed the model's token limit and the caller (or the provider) refuses cuts."""


class ConfigError(SemkitError, ValueError):
    """A setting, option or environment variable has an invalid value."""


class MissingExtraError(ConfigError, ImportError):
    """An optional dependency is missing; the message names the ``semkit[extra]`` to install."""


class ModelError(SemkitError):
    """A model cannot be found, loaded, or does not support what was asked."""


class ProviderError(SemkitError):
    """An embedding provider failed, or answered with something unusable."""


class RateLimitError(ProviderError):
    """The provider still refused (429/5xx/timeouts) after the retry budget."""


class StoreError(SemkitError):
    """A database, cache or index file cannot be read or written safely."""


class LockedError(StoreError):
    """Another process holds the write lock for longer than the timeout."""
