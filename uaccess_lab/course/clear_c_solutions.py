"""An nbgrader ClearSolutions that also understands solution regions in C cells.

nbgrader replaces a `### BEGIN SOLUTION` region with one Python stub, which
is no use for driver code in a `%%module` cell: there the student must get
the article's original code back, different in each region. In a C cell a
region therefore carries both versions and stays valid C:

    #if 1 /* BEGIN SOLUTION */
        ... the fixed code (what the instructor's notebook builds) ...
    #else /* STARTER */
        ... the code the student starts from ...
    #endif /* END SOLUTION */

and the student's version keeps only the STARTER lines.
"""

from __future__ import annotations

from nbgrader.preprocessors import ClearSolutions

C_CELL_MAGICS = ("%%module", "%%writefile")
BEGIN = "BEGIN SOLUTION"
STARTER = "#else /* STARTER */"
END = "END SOLUTION"


def is_c_cell(source: str) -> bool:
    first = source.lstrip().split("\n", 1)[0]
    return first.startswith(C_CELL_MAGICS) and not first.rstrip().endswith(".py")


def starter_version(source: str) -> tuple[str, bool]:
    """Return (source with every region reduced to its STARTER lines, whether any region was found)."""
    out: list[str] = []
    state = "outside"  # outside -> solution -> starter -> outside
    found = False
    for number, line in enumerate(source.split("\n"), 1):
        stripped = line.strip()
        if BEGIN in line:
            if state != "outside":
                raise RuntimeError(f"line {number}: nested BEGIN SOLUTION in a C cell")
            if not stripped.startswith("#if 1"):
                raise RuntimeError(f"line {number}: in a C cell write `#if 1 /* BEGIN SOLUTION */`")
            state, found = "solution", True
        elif stripped == STARTER:
            if state != "solution":
                raise RuntimeError(f"line {number}: `{STARTER}` outside a solution region")
            state = "starter"
        elif END in line:
            if state == "outside":
                raise RuntimeError(f"line {number}: END SOLUTION without BEGIN SOLUTION")
            state = "outside"
        elif state in ("outside", "starter"):
            out.append(line)
    if state != "outside":
        raise RuntimeError("a C solution region is not closed with `#endif /* END SOLUTION */`")
    return "\n".join(out), found


class ClearSolutionsWithC(ClearSolutions):
    """ClearSolutions for Python cells, starter-code regions for C cells."""

    def _replace_solution_region(self, cell, language):
        if cell.cell_type == "code" and is_c_cell(cell.source):
            cell.source, found = starter_version(cell.source)
            return found
        return super()._replace_solution_region(cell, language)
