"""An import-linter contract kind that lists what a layer MAY import (an allow-list).

The built-in `forbidden` contract names what a layer must not import, so a new dependency slips
through until someone adds it to the list. This one fails on anything not named: a layer's own
package, the standard library, and the third-party packages its contract allows.
"""

from __future__ import annotations

import sys
from typing import cast

from grimp import ImportGraph
from importlinter.application import output
from importlinter.domain import fields
from importlinter.domain.contract import Contract, ContractCheck


class AllowListContract(Contract):
    """source_modules may import only themselves, the standard library and allowed_modules
    (packages, or modules inside them: `adapters.kit` allows `adapters.kit.config`)."""

    type_name = "allowlist"

    source_modules = fields.ListField(subfield=fields.StringField())
    allowed_modules = fields.ListField(subfield=fields.StringField(), required=False, default=[])

    def check(self, graph: ImportGraph, verbose: bool) -> ContractCheck:
        # import-linter declares each field as a class attribute; an instance holds its values
        sources = cast(list[str], self.source_modules)
        allowed = {*sources, *cast(list[str], self.allowed_modules), *sys.stdlib_module_names}
        broken: list[tuple[str, str, list[int]]] = []
        for source in sources:
            for module in sorted({source, *graph.find_descendants(source)}):
                for imported in sorted(graph.find_modules_directly_imported_by(module)):
                    if _allowed(imported, allowed):
                        continue
                    details = graph.get_import_details(importer=module, imported=imported)
                    broken.append((module, imported, [d["line_number"] for d in details]))
        return ContractCheck(kept=not broken, metadata={"broken": broken})

    def render_broken_contract(self, check: ContractCheck) -> None:
        for module, imported, lines in check.metadata["broken"]:
            where = ", ".join(f"l.{n}" for n in lines)
            output.print_error(f"{module} imports {imported} ({where}), which is not allowed")
            output.new_line()


def _allowed(module: str, allowed: set[str]) -> bool:
    """`module` is an allowed package or inside one (entries may be dotted: adapters.kit)."""
    parts = module.split(".")
    return any(".".join(parts[:n]) in allowed for n in range(1, len(parts) + 1))
