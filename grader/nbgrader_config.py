"""nbgrader configuration for the uaccess-lab course (nbgrader 0.9).

Run nbgrader commands from this directory, or through `uaccess-lab course ...`,
which does that for you. The exchange directory (where students fetch and
submit on JupyterHub) defaults to ./exchange; set UACCESS_LAB_EXCHANGE to the
shared path on a hub (see the README's JupyterHub section).
"""

import os
from pathlib import Path

from nbgrader.preprocessors import (
    CheckCellMetadata,
    ClearHiddenTests,
    ClearMarkScheme,
    ClearOutput,
    ComputeChecksums,
    IncludeHeaderFooter,
    InstantiateTests,
    LockCells,
    SaveCells,
)

from nbconvert.preprocessors import ClearMetadataPreprocessor
from nbgrader.preprocessors import (
    AssignLatePenalties,
    CheckCellMetadata,
    ClearOutput,
    DeduplicateIds,
    IgnorePattern,
    LimitOutput,
    OverwriteKernelspec,
    SaveAutoGrades,
)

from uaccess_lab.course.clear_c_solutions import ClearSolutionsWithC
from uaccess_lab.course.execute import ExecuteSurvivingDeath
from uaccess_lab.course.restore_cells import RestoreCells

here = Path(__file__).resolve().parent
c = get_config()  # noqa: F821 (provided by nbgrader when it loads this file)

c.CourseDirectory.root = str(here)
c.CourseDirectory.course_id = "uaccess-lab"
c.CourseDirectory.db_url = f"sqlite:///{here / 'gradebook.db'}"
c.Exchange.root = os.environ.get("UACCESS_LAB_EXCHANGE", str(here / "exchange"))
c.Exchange.path_includes_course = True

# The labs ship notebooks only; their cells write the C files (%%writefile cdev.c).
# nbgrader copies every other file of source/<lab>/ into the release and over each
# submission before grading, so a cdev.c left there by running the instructor's
# notebook would hand students the solution, and grade a submission without a
# driver cell as if it had the solution. Never copy build inputs or outputs.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback",
                            "*.c", "*.h", "*.ko", "*.o", "*.mod", "*.mod.c", ".*.cmd",
                            "Module.symvers", "modules.order", "Makefile", "Kbuild"]

# The student notebooks are Python; C driver code lives in %%module cells
# whose solution regions ClearSolutionsWithC turns back into starter code.
c.GenerateAssignment.preprocessors = [
    IncludeHeaderFooter,
    InstantiateTests,
    LockCells,
    ClearSolutionsWithC,
    ClearOutput,
    CheckCellMetadata,
    ComputeChecksums,
    SaveCells,
    ClearHiddenTests,
    ClearMarkScheme,
    ComputeChecksums,
    CheckCellMetadata,
]

# A submission with deleted or renamed cells is still graded (see RestoreCells).
c.Autograde.sanitize_preprocessors = [
    ClearOutput,
    DeduplicateIds,
    OverwriteKernelspec,
    RestoreCells,
    CheckCellMetadata,
]

# A test cell that never ran because the notebook kernel died must not pass.
c.Autograde.autograde_preprocessors = [
    ExecuteSurvivingDeath,
    IgnorePattern,
    ClearMetadataPreprocessor,
    LimitOutput,
    SaveAutoGrades,
    AssignLatePenalties,
    CheckCellMetadata,
]

# A cell may boot a guest under TCG (tens of seconds on a slow machine) and
# run several driver tests, each with its own timeout inside the guest: give
# cells ten minutes, and never let a dead kernel or a timeout pass silently.
# (nbgrader's Execute always goes on after a failing cell: it scores 0, the rest still run.)
c.Execute.timeout = 600
c.Execute.interrupt_on_timeout = True
