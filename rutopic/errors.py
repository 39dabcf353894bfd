"""Exceptions. The core raises these; only the CLI turns them into messages and exit codes."""

from __future__ import annotations


class RutopicError(Exception):
    """Bad input or usage that the user can fix: the CLI prints it on one line, exit code 2.

    The message names the problem and, where it can, the fix.
    """

    exit_code = 2


class DataError(RutopicError):
    """A data file is missing, unreadable, empty, malformed or has the wrong columns."""


class ModelNotFoundError(RutopicError):
    """No model where one was expected."""


class ModelIntegrityError(RutopicError):
    """A model's files do not match the digests in its metadata (corrupted or swapped)."""


class RegistryError(RutopicError):
    """A registry operation cannot be done (unknown version, nothing to roll back to, ...)."""


class LockedError(RutopicError):
    """Another process holds the registry lock; cron can retry later."""

    exit_code = 75
