"""C solution regions: one C cell that holds both the instructor's and the student's code.

nbgrader replaces a `### BEGIN SOLUTION` region with one Python stub, which
is no use for driver code in a `%%module` cell: there the student must get
the article's original code back, different in each region. In a C cell a
region therefore carries both versions and stays valid C:

    #if 1 /* BEGIN SOLUTION */
        ... the fixed code (what the instructor's notebook builds) ...
    #else /* STARTER */
        ... the code the student starts from ...
    #endif /* END SOLUTION */

Plain text functions, no nbgrader: the grading cells import them too, and
importing nbgrader costs a notebook kernel 2 s.
"""

from __future__ import annotations

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


def solution_version(source: str) -> str:
    """The instructor's version of a C cell: every region reduced to its solution lines."""
    out: list[str] = []
    state = "outside"
    for line in source.split("\n"):
        if BEGIN in line:
            state = "solution"
        elif line.strip() == STARTER:
            state = "starter"
        elif END in line:
            state = "outside"
        elif state != "starter":
            out.append(line)
    return "\n".join(out)


def _units(text: str) -> list[str]:
    """Lines, except that a multi-line /* ... */ comment is one unit (regions never split one)."""
    units, pending = [], None
    for line in text.split("\n"):
        if pending is not None:
            pending += "\n" + line
            if "*/" in line:
                units.append(pending)
                pending = None
        elif "/*" in line and "*/" not in line.split("/*", 1)[1]:
            pending = line
        else:
            units.append(line)
    if pending is not None:
        units.append(pending)
    return units


def merge_versions(starter: str, solution: str) -> str:
    """Author a C cell: the starter text with each difference from `solution` as a solution region.

    starter_version(merge_versions(a, b)) == a and solution_version(...) == b.
    """
    import difflib

    a, b = _units(starter), _units(solution)
    out: list[str] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if tag == "equal":
            out += a[i1:i2]
        else:
            out += ["#if 1 /* BEGIN SOLUTION */", *b[j1:j2], STARTER, *a[i1:i2], "#endif /* END SOLUTION */"]
    return "\n".join(out)
