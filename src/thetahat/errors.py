"""Exceptions raised for a user's mistake.

Every class derives from :class:`ThetahatError` (itself a ``ValueError``), and every
message is one line saying what is wrong and where. The CLI prints that line and
exits with code 2.

Example
-------
>>> import thetahat
>>> try:
...     thetahat.fit([1.0, float("nan")], "normal")
... except thetahat.errors.NonFiniteDataError as e:
...     print(e)
data contains NaN at data row 2 (1 NaN rows; pass dropna=True / --dropna to drop and count them)
"""


class ThetahatError(ValueError):
    """Base class of every error thetahat raises for bad input or options."""


class DataError(ThetahatError):
    """The data cannot be used as given."""


class EmptyDataError(DataError):
    """No observations, or fewer than the model needs."""


class NonFiniteDataError(DataError):
    """NaN or infinite values in the data."""


class NonNumericDataError(DataError):
    """A cell that is not a number."""


class SupportError(DataError):
    """A value outside the family's support (e.g. a negative value for gamma)."""


class DegenerateDataError(DataError):
    """Data that carry no information about a parameter (e.g. all values equal)."""


class NumericalRangeError(DataError):
    """Values so large or small that the likelihood overflows float64."""


class MissingColumnError(DataError):
    """A column that the input does not have."""


class FileFormatError(DataError):
    """A file that cannot be read."""


class OptionError(ThetahatError):
    """An impossible option: unknown family or method, a bad fixed value, ..."""


class UnknownFamilyError(OptionError):
    """No family of that name."""


class FormulaError(OptionError):
    """A formula that cannot be used: a term outside the allowed set, or one that cannot be parsed."""
