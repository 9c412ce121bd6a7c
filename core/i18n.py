"""Marking texts for translation where they are defined (services, navigation, errors); they are
translated where they are shown (``core.web.i18n``). Babel's extraction looks for ``N_``."""


def N_(text: str) -> str:  # noqa: N802  (the name gettext tools look for)
    return text
