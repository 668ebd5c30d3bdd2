"""textkit: small, dependency-free text utilities."""

from textkit.case import camel_case, kebab_case, pascal_case, snake_case, split_words, title_case
from textkit.distance import closest, hamming, levenshtein, similarity
from textkit.inflect import join_words, ordinal, pluralize
from textkit.numerals import from_roman, to_roman
from textkit.slug import slugify
from textkit.wrap import truncate, wrap

__version__ = "0.4.1"

__all__ = [
    "camel_case",
    "closest",
    "from_roman",
    "hamming",
    "join_words",
    "kebab_case",
    "levenshtein",
    "ordinal",
    "pascal_case",
    "pluralize",
    "similarity",
    "slugify",
    "snake_case",
    "split_words",
    "title_case",
    "to_roman",
    "truncate",
    "wrap",
]
