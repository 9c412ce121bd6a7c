"""Translations of the pages: every text in a template is marked (``{{ _("…") }}`` or
``{% trans %}``) and looked up in Babel catalogs under ``core/web/locale``. English, the language
the templates are written in, ships as the catalog template ``messages.pot``; a broker's language
is a compiled ``<locale>/LC_MESSAGES/messages.mo`` beside it (``scripts/i18n`` extracts and
compiles). A missing catalog falls back to English."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path

from babel.support import NullTranslations, Translations
from jinja2.ext import Extension
from jinja2.lexer import Token, TokenStream

LOCALE_DIR = Path(__file__).parent / "locale"
DEFAULT_LOCALE = "en"


@functools.cache
def translations(locale: str = DEFAULT_LOCALE) -> NullTranslations:
    return Translations.load(str(LOCALE_DIR), locales=[locale], domain="messages")


def gettext(text: str) -> str:
    return translations().gettext(text)


class ConstantTranslations(Extension):
    """Translates ``_("a constant text")`` when the template is compiled: the environment is built
    for one language, so the text's translation is a constant, and Jinja writes it into the
    compiled template as plain output (a page has dozens; each cost a call per render). Calls with
    variables (``_("%(n)s clients", n=…)``) or a non-constant text still translate when rendered.
    """

    def filter_stream(self, stream: TokenStream) -> Iterator[Token]:
        gettext = self.environment.globals.get("gettext_constant")
        window: list[Token] = []
        for token in stream:
            window.append(token)
            if len(window) < 4:
                continue
            if len(window) > 4:
                yield window.pop(0)
            name, left, text, right = window
            if (
                callable(gettext)
                and name.type == "name"
                and name.value == "_"
                and left.type == "lparen"
                and text.type == "string"
                and right.type == "rparen"
            ):
                yield Token(name.lineno, "string", gettext(text.value))
                window.clear()
        yield from window
