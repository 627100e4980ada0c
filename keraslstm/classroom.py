"""Student versions of the notebooks: every exercise kept, every solution taken out.

In the committed notebooks a worked solution is a cell tagged `solution` whose source and outputs
JupyterLab shows collapsed (`"jupyter": {"source_hidden": true, "outputs_hidden": true}`, and
`"collapsed": true` on a code cell, which JupyterLab writes itself on opening); its
expected result ("What you should see") is inside it, in its output or in a hidden markdown cell
also tagged `solution`. `student_notebook` drops those cells and leaves one empty code cell where
each run of them stood, under its exercise. `make student` (`python -m keraslstm.classroom`)
writes `student/NN_*.ipynb` for every notebook.
"""

import sys
from pathlib import Path

__all__ = [
    "SOLUTION_TAG",
    "HIDDEN",
    "KERNEL_DISPLAY_NAME",
    "is_solution",
    "student_notebook",
    "write_student_notebooks",
]

SOLUTION_TAG = "solution"
HIDDEN = {"source_hidden": True, "outputs_hidden": True}  # a solution cell's `jupyter` metadata
KERNEL_DISPLAY_NAME = "Python 3 (ipykernel)"  # what JupyterLab writes on opening a notebook


def is_solution(cell):
    """True for a cell tagged `solution`."""
    return SOLUTION_TAG in cell.get("metadata", {}).get("tags", [])


def student_notebook(notebook):
    """A copy of `notebook` (an nbformat node) without its solution cells: each run of them becomes
    one empty code cell for the student's answer."""
    import nbformat
    from nbformat.corpus.words import generate_corpus_id

    student = nbformat.from_dict(notebook)  # a deep copy
    cells, previous_was_solution = [], False
    for cell in student.cells:
        if is_solution(cell):
            if not previous_was_solution:
                cells.append(nbformat.v4.new_code_cell(""))
            previous_was_solution = True
            continue
        cells.append(cell)
        previous_was_solution = False
    student.cells = cells
    student.nbformat_minor = max(student.nbformat_minor, 5)  # cell ids exist from nbformat 4.5
    for cell in cells:
        cell.setdefault("id", generate_corpus_id())
    nbformat.validate(student)
    return student


def write_student_notebooks(source="notebooks", target="student"):
    """Write the student version of every `source/NN_*.ipynb` to `target/`; returns the paths."""
    import nbformat

    target = Path(target)
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for path in sorted(Path(source).glob("[0-9][0-9]_*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        out = target / path.name
        nbformat.write(student_notebook(notebook), out)
        removed = sum(map(is_solution, notebook.cells))
        print(f"{out}: {removed} solution cells removed")
        written.append(out)
    if not written:
        raise FileNotFoundError(f"no notebooks named NN_*.ipynb in {source}")
    return written


if __name__ == "__main__":
    write_student_notebooks(*sys.argv[1:3])
