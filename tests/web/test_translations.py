"""Every text of the pages is marked for translation, and the shipped catalog template holds them
all (``scripts/i18n`` regenerates it)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from jinja2 import Environment

ROOT = Path(__file__).parents[2]
TEMPLATE_FOLDERS = [ROOT / "core" / "web" / "templates", *sorted((ROOT / "plugins").glob("*/templates"))]
TEMPLATES = sorted(path for folder in TEMPLATE_FOLDERS for path in folder.rglob("*.html"))
HOLE = "\x00"  # where a Jinja expression or tag was


def unmarked_text(source: str) -> list[str]:
    """The words a template shows without passing them through gettext: its markup with every
    Jinja expression, tag and ``{% trans %}`` block taken out, then HTML tags, entities, scripts
    and styles removed."""
    env = Environment(extensions=["jinja2.ext.i18n"], trim_blocks=True, lstrip_blocks=True)
    parts: list[str] = []
    in_trans = False
    previous = ""
    for _line, kind, value in env.lex(source):
        if kind == "name" and previous == "block_begin":
            in_trans = value == "trans" or (in_trans and value != "endtrans")
        if kind == "data" and not in_trans:
            parts.append(value)
        elif kind in ("variable_begin", "block_begin"):
            parts.append(HOLE)
        if kind not in ("whitespace",):
            previous = kind
    markup = "".join(parts)
    markup = re.sub(r"<(script|style)\b.*?</\1>", " ", markup, flags=re.S)
    markup = re.sub(r"<[^>]*>", " ", markup)
    markup = re.sub(r"&#?\w+;", " ", markup)
    return [text.strip() for text in re.findall(r"[A-Za-z]{2,}[^\x00<]*", markup)]


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_text_in_a_template_is_marked_for_translation(template: Path) -> None:
    assert unmarked_text(template.read_text()) == []


def test_the_checker_finds_a_bare_text() -> None:
    assert unmarked_text('<p class="x">{{ _("Marked") }}</p><h1>Bare title</h1>') == ["Bare title"]
    assert unmarked_text('<input name="{{ n }}" value="{{ v }}">{% trans %}Also marked{% endtrans %}') == []


def test_the_catalog_template_holds_every_marked_text(tmp_path: Path) -> None:
    fresh = tmp_path / "messages.pot"
    pybabel = Path(sys.executable).with_name("pybabel")
    subprocess.run(
        [str(pybabel), "extract", "-F", "core/web/babel.cfg", "--no-location", "-o", str(fresh), "core"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    with fresh.open("rb") as current, (ROOT / "core/web/locale/messages.pot").open("rb") as shipped:
        wanted = {m.id for m in read_po(current) if m.id}
        have = {m.id for m in read_po(shipped) if m.id}
    assert wanted == have, "run scripts/i18n: the catalog template is out of date"


class _French:
    """A catalog of two texts, as Babel would load it."""

    texts = {"Hello": "Bonjour", "%(n)s clients": "%(n)s clients (fr)"}

    def gettext(self, text: str) -> str:
        return self.texts.get(text, text)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self.gettext(singular if n == 1 else plural)


def test_a_constant_text_is_translated_when_compiled_and_a_formatted_one_when_rendered() -> None:
    from core.web.i18n import ConstantTranslations

    env = Environment(extensions=["jinja2.ext.i18n", ConstantTranslations], autoescape=True)
    catalog = _French()
    env.install_gettext_translations(catalog, newstyle=True)  # type: ignore[attr-defined]
    env.globals["gettext_constant"] = catalog.gettext
    source = '<p title="{{ _("Hello") }}">{{ _("Hello") }} · {{ _("%(n)s clients", n=3) }}</p>'
    assert env.from_string(source).render() == '<p title="Bonjour">Bonjour · 3 clients (fr)</p>'
    compiled = env.compile(source, raw=True)
    assert "Bonjour" in compiled and "'Hello'" not in compiled  # folded into the template
    assert "%(n)s clients" in compiled  # looked up at render time, with its variables
