"""An nbgrader ClearSolutions that also understands solution regions in C cells (see c_regions)."""

from __future__ import annotations

from nbgrader.preprocessors import ClearSolutions

from .c_regions import is_c_cell, starter_version


class ClearSolutionsWithC(ClearSolutions):
    """ClearSolutions for Python cells, starter-code regions for C cells."""

    def _replace_solution_region(self, cell, language):
        if cell.cell_type == "code" and is_c_cell(cell.source):
            cell.source, found = starter_version(cell.source)
            return found
        return super()._replace_solution_region(cell, language)
