"""What people type in the search box, read the way web search engines (and PostgreSQL's
`websearch_to_tsquery`) read it:

    strike democracy          both words (AND)
    "reform and revolution"   the words as a phrase, in this order
    strike -union             strike, but not union (a leading minus leaves a word out)
    strike or walkout         either word (OR binds looser than AND: `a b or c` is a&b | c)

Each word or phrase is matched twice over: stemmed as English (strikes, striking → strike)
and as plain words (for other languages and scripts, and words English stemming would
mangle), and a note matches a word when either finds it. On PostgreSQL every term becomes
`(websearch_to_tsquery('english', term) || websearch_to_tsquery('simple', term))`, so a
minus leaves out a note whichever way the word is in it ("-unions" also leaves out
"union"); on SQLite a term is a case-insensitive substring.

`parse` checks the length first (MAX_LENGTH, MAX_TERMS), so a pasted essay never reaches the
database; the form has refused NUL characters before that.
"""

import re
from dataclasses import dataclass

MAX_LENGTH = 200  # characters: a question, not a paragraph
MAX_TERMS = 12  # words and phrases: each is two tsqueries in the SQL

_TOKEN = re.compile(r'(?P<minus>-?)(?:"(?P<phrase>[^"]*)"?|(?P<word>[^\s"]+))')


class SearchSyntaxError(ValueError):
    """The words cannot be searched for; the message says why, for the person."""


@dataclass(frozen=True)
class Term:
    text: str  # a word, or the words of a phrase
    phrase: bool = False
    negated: bool = False

    @property
    def websearch(self) -> str:
        """The term as websearch_to_tsquery reads it (a phrase keeps its quotes)."""
        return f'"{self.text}"' if self.phrase else self.text


@dataclass(frozen=True)
class Query:
    """Alternatives (OR) of terms that must all hold (AND)."""

    alternatives: tuple[tuple[Term, ...], ...]

    @property
    def terms(self) -> list[Term]:
        return [term for group in self.alternatives for term in group]

    @property
    def positive(self) -> list[str]:
        """The words and phrases a match may contain: what the results mark."""
        return [term.text for term in self.terms if not term.negated]

    def __bool__(self) -> bool:
        return bool(self.alternatives)


def _has_word(text: str) -> bool:
    return any(character.isalnum() for character in text)


def parse(text: str) -> Query:
    """The query in `text`: an empty Query when there is nothing to search for."""
    text = " ".join(text.split())
    if len(text) > MAX_LENGTH:
        raise SearchSyntaxError(
            f"Keep the search to {MAX_LENGTH} characters or fewer (it has {len(text)})."
        )
    alternatives: list[list[Term]] = [[]]
    for match in _TOKEN.finditer(text):
        phrase, word = match.group("phrase"), match.group("word")
        if word is not None and word.lower() == "or" and not match.group("minus"):
            if alternatives[-1]:
                alternatives.append([])
            continue
        words = " ".join((phrase if phrase is not None else word).split())
        if not _has_word(words):
            continue  # punctuation on its own: nothing to look for
        alternatives[-1].append(
            Term(words, phrase=phrase is not None, negated=bool(match.group("minus")))
        )
    groups = tuple(tuple(group) for group in alternatives if group)
    if sum(len(group) for group in groups) > MAX_TERMS:
        raise SearchSyntaxError(f"Search for at most {MAX_TERMS} words or phrases at once.")
    if groups and all(term.negated for group in groups for term in group):
        raise SearchSyntaxError("Say what to look for, not only what to leave out.")
    return Query(groups)


def tsquery_sql(query: Query) -> tuple[str, list[str]]:
    """The query as a PostgreSQL tsquery expression, with its parameters."""
    sql_groups, params = [], []
    for group in query.alternatives:
        parts = []
        for term in group:
            part = (
                "(websearch_to_tsquery('english'::regconfig, %s)"
                " || websearch_to_tsquery('simple'::regconfig, %s))"
            )
            params += [term.websearch, term.websearch]
            parts.append(f"!!{part}" if term.negated else part)
        sql_groups.append("(" + " && ".join(parts) + ")")
    return "(" + " || ".join(sql_groups) + ")", params
