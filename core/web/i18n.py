"""Translations of the pages: every text in a template is marked (``{{ _("…") }}`` or
``{% trans %}``) and looked up in Babel catalogs under ``core/web/locale``. English, the language
the templates are written in, ships as the catalog template ``messages.pot``; a broker's language
is a compiled ``<locale>/LC_MESSAGES/messages.mo`` beside it (``scripts/i18n`` extracts and
compiles). A missing catalog falls back to English."""

from __future__ import annotations

import functools
from pathlib import Path

from babel.support import NullTranslations, Translations

LOCALE_DIR = Path(__file__).parent / "locale"
DEFAULT_LOCALE = "en"


@functools.cache
def translations(locale: str = DEFAULT_LOCALE) -> NullTranslations:
    return Translations.load(str(LOCALE_DIR), locales=[locale], domain="messages")


def gettext(text: str) -> str:
    return translations().gettext(text)
