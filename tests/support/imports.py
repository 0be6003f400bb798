"""What a Python source file imports, read from its syntax tree (every import
statement, also those inside functions)."""

import ast


def imported_modules(path):
    """(line, absolute module name) for each import in the file at path;
    relative imports are skipped (the firmware uses none)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module
