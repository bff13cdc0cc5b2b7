"""nbgrader's OverwriteCells, made to grade a submission whose cells were deleted or renamed.

nbgrader 0.9 stops grading a notebook in which a grade cell's id was
changed: it drops the unknown grade_id but leaves the cell marked as a grade
cell, and its metadata check then fails the whole submission. Here such a
cell becomes an ordinary cell, and every test cell missing from the
submission (deleted, or renamed) is put back from the instructor's version
(nbgrader's add_missing_cells), so it still runs and is graded. A deleted
answer cell is not put back: the tests that need it fail, as they should.
"""

from __future__ import annotations

from nbgrader.api import MissingEntry
from nbgrader.preprocessors import OverwriteCells
from traitlets import Bool


class RestoreCells(OverwriteCells):
    """OverwriteCells that forgives unknown cell ids and restores missing test cells."""

    add_missing_cells = Bool(True).tag(config=True)

    def preprocess_cell(self, cell, resources, cell_index):
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id is not None:
            try:
                self.gradebook.find_source_cell(grade_id, self.notebook_id, self.assignment_id)
            except MissingEntry:
                self.log.warning("cell %r is not in the instructor's notebook: graded as an ordinary cell",
                                 grade_id)
                del cell.metadata["nbgrader"]
                return cell, resources
        return super().preprocess_cell(cell, resources, cell_index)
