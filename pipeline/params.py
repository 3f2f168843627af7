"""Reading params.yaml values that may be given once or per dataset."""

from __future__ import annotations


def for_dataset(value, dataset: str, default):
    """``value`` itself, or, when it is a mapping of dataset names ({name: value}), the entry of
    ``dataset`` (``default`` for a name not listed). Checking the type is left to the caller."""
    if isinstance(value, dict):
        return value.get(dataset, default)
    return value
