"""The Pico W's boot import chain stays flat (static analysis, no build).

On the RP2040 each nested import costs 600-900 B of the 7,936 B C stack
(../shared/PICO.md; the emulated boot peaks near 6,500 B, make bench): a
module that imports another inside its own import is one level deeper.
The chain is what main.py imports at boot on a Pico W, followed in the
order Python runs it: main.py's imports (its main() runs at import), then
each module's module-level imports (not those inside functions, which run
later), a module nesting only where it is imported first. Only the
modules of firmware/manifest.py count: built-in C modules (select,
machine...) nest no further, and the sim board's branch never runs on a Pico.

Today's deepest chain (BOOT_IMPORT_DEPTH levels below main):
  main -> boards.pico_w.board -> boards.runtime.runtime -> intercom.app.station
  -> intercom.sip.agent -> intercom.sip.call -> intercom.sip.dialog
  -> intercom.sip.message -> intercom.sip.fields
(intercom.sip.uri is imported earlier, by the config's identities:
main -> boards.cli.config_file -> intercom.config -> intercom.app.identity
-> intercom.sip.uri.) A module added below fields (or any chain one level
longer) fails this test:
flatten the chain instead (import the module where it is used, or from a
shallower module).
"""

import ast

from host_tools.firmware_manifest import FIRMWARE, pico_files, pico_modules

BOOT_IMPORT_DEPTH = 8


def module_path(name):
    files = pico_files()
    for candidate in (name.replace(".", "/") + ".py", name.replace(".", "/") + "/__init__.py"):
        if candidate in files:
            return FIRMWARE / candidate
    raise KeyError(name)


def imports_run_at_import(name):
    """The manifest modules `name` imports while it is being imported, in order."""
    tree = ast.parse(module_path(name).read_text())
    known = set(pico_modules())
    found = []

    def visit(node, at_module_level):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                # main.py calls main() at import: its functions run at boot.
                if name == "main":
                    visit(child, at_module_level)
                continue
            if isinstance(child, ast.Import):
                found.extend(alias.name for alias in child.names)
            elif isinstance(child, ast.ImportFrom) and child.level == 0:
                for alias in child.names:
                    submodule = "%s.%s" % (child.module, alias.name)
                    found.append(submodule if submodule in known else child.module)
            visit(child, at_module_level)

    visit(tree, True)
    return [module for module in found if module in known]


def deepest_boot_chain():
    imported = set()
    deepest = []

    def load(name, chain):
        nonlocal deepest
        imported.add(name)
        chain = chain + [name]
        if len(chain) > len(deepest):
            deepest = chain
        for module in imports_run_at_import(name):
            # Importing a.b.c first imports the packages a and a.b (their
            # __init__ modules, one level below the importer, like a.b.c).
            parts = module.split(".")
            for depth in range(1, len(parts) + 1):
                package = ".".join(parts[:depth])
                if package not in imported:
                    load(package, chain)

    load("main", [])
    return deepest


def test_the_boot_import_chain_is_no_deeper_than_today():
    chain = deepest_boot_chain()
    assert len(chain) - 1 <= BOOT_IMPORT_DEPTH, " -> ".join(chain)


def test_a_module_added_below_the_deepest_one_is_one_level_too_deep(monkeypatch):
    # The check itself: the deepest module importing one more manifest
    # module (as if a new module were added there) makes the chain one
    # level deeper.
    chain = deepest_boot_chain()
    assert len(chain) - 1 == BOOT_IMPORT_DEPTH, " -> ".join(chain)
    deepest = chain[-1]
    original = imports_run_at_import
    spare = next(
        module
        for module in pico_modules()
        if module not in chain and not module_path(module).name == "__init__.py"
    )

    def with_one_more(name):
        if name == deepest:
            return original(name) + [spare]
        return [module for module in original(name) if module != spare]

    monkeypatch.setitem(globals(), "imports_run_at_import", with_one_more)
    assert len(deepest_boot_chain()) - 1 == BOOT_IMPORT_DEPTH + 1
