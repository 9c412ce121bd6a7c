"""The plugin author's guide keeps up with the contract and the manifest schema."""

from __future__ import annotations

from pathlib import Path

from core.contract import CrmHooks
from core.plugins.manifest import manifest_schema

GUIDE = (Path(__file__).resolve().parents[2] / "docs" / "plugins.md").read_text(encoding="utf-8")


def test_every_hook_of_the_contract_is_in_the_guide():
    hooks = [name for name in vars(CrmHooks) if name.startswith("crm_")]
    assert len(hooks) >= 20
    missing = [name for name in hooks if f"`{name}(" not in GUIDE]
    assert not missing, f"document these hooks in docs/plugins.md: {missing}"


def test_every_manifest_field_is_in_the_guide():
    missing = [field for field in manifest_schema()["properties"] if f"| `{field}` |" not in GUIDE]
    assert not missing, f"document these manifest fields in docs/plugins.md: {missing}"


def test_the_hook_reference_is_the_one_written_from_the_contract():
    from core.contract import reference

    assert reference.current(GUIDE) == reference.render(), (
        "the contract changed: run `python -m core.contract.reference --write`"
    )


def test_the_guide_covers_the_sdk_whole():
    import core.sdk
    import core.sdk.testing

    names = [*core.sdk.__all__, *core.sdk.testing.__all__]
    missing = [name for name in names if f"`{name}" not in GUIDE]
    assert not missing, f"document these core.sdk names in docs/plugins.md: {missing}"
