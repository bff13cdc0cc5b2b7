"""nbgrader's Execute, made safe against a notebook kernel that dies.

nbgrader gives full points to a test cell with no output at all, so cells
that never ran because the kernel died (os._exit in a student cell, the
kernel killed for memory) would pass. Here the cell that was running when
the kernel died, and every code cell after it, gets an error output that
says what happened, so each of those test cells scores 0, the rest of the
notebook's grades are kept, and the student sees why in the feedback.
"""

from __future__ import annotations

from nbclient.exceptions import DeadKernelError
from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import Execute


def _error(message: str) -> NotebookNode:
    return NotebookNode(output_type="error", ename="DeadKernelError", evalue=message,
                        traceback=[f"DeadKernelError: {message}"])


class ExecuteSurvivingDeath(Execute):
    """Execute that turns a dead kernel into a graded failure of the cells it took down."""

    def preprocess(self, nb, resources=None, km=None):
        self._died_at: int | None = None
        return super().preprocess(nb, resources, km)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code":
            return cell, resources
        if self._died_at is not None:
            cell.outputs = [_error(f"not run: the notebook's kernel died in cell {self._died_at + 1}")]
            return cell, resources
        try:
            return super().preprocess_cell(cell, resources, index)
        except DeadKernelError:
            self._died_at = index
            cell.outputs.append(_error("the notebook's kernel died while this cell ran "
                                       "(did it exit Python, or run out of memory?)"))
            return cell, resources
