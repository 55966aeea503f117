"""The layer contract: dependencies point down (ui -> app -> net, crypto), checked on the source.

Every import statement of every module is read with ast, lazy imports inside functions included,
so a forbidden import cannot hide in a function body.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# package folder -> parley subpackages it must never import
FORBIDDEN: dict[str, set[str]] = {
    "crypto": {"parley.app", "parley.net", "parley.ui"},
    "net": {"parley.app", "parley.crypto", "parley.ui"},
    "app": {"parley.ui"},
    "ui": set(),
}
# crypto/ is pure: besides itself it may import only nacl and these standard-library modules.
CRYPTO_ALLOWED_STDLIB = {
    "__future__", "dataclasses", "hashlib", "hmac", "struct", "typing", "collections",
    "collections.abc", "enum", "functools", "itertools", "json", "base64", "binascii", "math",
    "secrets", "types",
}  # fmt: skip
# Modules that would mean I/O, threads, clocks or Qt inside a layer that must not have them.
NO_IO = {"os", "io", "socket", "asyncio", "threading", "time", "sqlite3", "subprocess", "pathlib"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_dependencies_point_down(package: str) -> None:
    offences = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in _modules(package)
        for name in _imports(path)
        for banned in FORBIDDEN[package]
        if name == banned or name.startswith(banned + ".")
    ]
    assert not offences, "\n".join(offences)


def test_relay_imports_nothing_of_app_or_ui() -> None:
    offences = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in _modules("net/relay")
        for name in _imports(path)
        if name.startswith(("parley.app", "parley.ui", "PySide6"))
    ]
    assert not offences, "\n".join(offences)


def test_crypto_is_pure() -> None:
    offences = []
    for path in _modules("crypto"):
        for name in _imports(path):
            top = name.split(".")[0]
            if name.startswith("parley.crypto") or top == "nacl":
                continue
            if name not in CRYPTO_ALLOWED_STDLIB or top in NO_IO:
                offences.append(f"{path.relative_to(ROOT)} imports {name}")
    assert not offences, "\n".join(offences)


def test_app_has_no_qt_widgets() -> None:
    offences = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in _modules("app")
        for name in _imports(path)
        if name.startswith(("PySide6.QtWidgets", "PySide6.QtGui"))
    ]
    assert not offences, "\n".join(offences)


def test_the_contract_sees_imports() -> None:
    """Guard against a contract that cannot fail: the scanner must find a known import."""
    assert "parley.crypto.errors" in _imports(ROOT / "crypto" / "kdf.py")
