"""Error lines as the command line shows them: in the CLI's words, and printable.

The library's messages name Python keywords (``dropna=True``, ``column=``,
``method='newton'``); on the command line the same advice is an option (``--dropna``,
``--column``, ``--method newton``). Text that came from the user -- a file name, a
cell -- can hold escape bytes; they are shown escaped, never sent to the terminal.

Examples
--------
>>> cli_words("data contains NaN at data row 2 (1 NaN rows; pass dropna=True / --dropna to drop and count them)")
'data contains NaN at data row 2 (1 NaN rows; pass --dropna to drop and count them)'
>>> cli_words("gamma has no closed-form MLE; use method='newton'")
'gamma has no closed-form MLE; use --method newton'
>>> printable("bad\\x1b[31mname.csv")
'bad\\\\x1b[31mname.csv'
"""

from __future__ import annotations

import re

# (pattern, replacement), applied in order: the longer forms first
_FIT_WORDS = (
    (r"dropna=True / --dropna", "--dropna"),
    (r"--column a,b / columns=", "--column a,b"),
    (r"--column / column=", "--column"),
    (r"column=\.\.\. \(CLI: --column\)", "--column"),
    (r"\bcolumns=\[\.\.\.\]", "--column a,b"),
    (r"\bcolumn=\.\.\.", "--column"),
    (r"\bdropna=True\b", "--dropna"),
    (r"\bmethod='([a-z_]+)'", r"--method \1"),
    (r"\bcov_type='([a-z_]+)' or '([a-z_]+)'", r"--cov-type \1 or \2"),
    (r"\bcov_type='([a-z_]+)'", r"--cov-type \1"),
    (r"\bweight_kind='([a-z_]+)'", r"--weight-kind \1"),
    (r"\bfixed=\{'?([A-Za-z_]+)'?: \.\.\.\} \(CLI: --fix [A-Za-z_]+=\.\.\.\)", r"--fix \1=VALUE"),
    (r"\bfixed=\{'?([A-Za-z_]+)'?: \.\.\.\}", r"--fix \1=VALUE"),
    (r" ?\(CLI: [^)]*\)", ""),  # (a library message's own hint at the option, once the option is named)
    (r"\bstarts=(\d+)", r"--starts \1"),
    (r"\bstarts > 1\b", "--starts above 1"),
    (r"\bn_boot=(\d+)", r"--n-boot \1"),
    (r"\bgive column= or columns=, not both", "give one --column"),
    (r"\bcolumn=/columns=", "--column"),
    (r"\bcolumns=", "--column"),
    (r"\bcolumn=", "--column"),
    (r"\blower=/upper=", "--lower/--upper"),
    (r"\blower= and upper=", "--lower and --upper"),
    (r"\bevent= \(right-censoring\)", "--event (right-censoring)"),
)
_REGRESS_WORDS = ((r"\bevent=", "--event"),)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def cli_words(message: str, command: str = "fit") -> str:
    """``message`` with the Python keywords it names replaced by the command's options."""
    for pattern, repl in _FIT_WORDS + (_REGRESS_WORDS if command == "regress" else ()):
        message = re.sub(pattern, repl, message)
    return message


def printable(text) -> str:
    """``text`` with control characters (ANSI escapes, bells, carriage returns, C1 codes)
    written as ``\\xNN``: what a user wrote is shown, never obeyed by the terminal."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", str(text))
