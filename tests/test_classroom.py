"""keraslstm.classroom: student notebooks keep every exercise and lose every solution."""

from pathlib import Path

import nbformat
import pytest

from keraslstm import classroom

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def solution(cell):
    cell.metadata["tags"] = ["solution"]
    cell.metadata["jupyter"] = dict(classroom.HIDDEN)
    return cell


def test_a_student_notebook_has_an_empty_cell_where_each_solution_stood():
    v4 = nbformat.v4
    answer = v4.new_code_cell("print(42)")
    answer.outputs = [v4.new_output("stream", name="stdout", text="42\n")]
    notebook = v4.new_notebook(
        cells=[
            v4.new_markdown_cell("## Exercises\n**1.** Print the answer."),
            solution(answer),
            solution(v4.new_markdown_cell("What you should see: 42.")),
            v4.new_markdown_cell("**2.** Print it twice."),
            solution(v4.new_code_cell("print(42)\nprint(42)")),
            v4.new_markdown_cell("## Record"),
        ]
    )
    student = classroom.student_notebook(notebook)
    kinds = [(c.cell_type, c.source) for c in student.cells]
    assert kinds == [
        ("markdown", "## Exercises\n**1.** Print the answer."),
        ("code", ""),
        ("markdown", "**2.** Print it twice."),
        ("code", ""),
        ("markdown", "## Record"),
    ]
    assert len(notebook.cells) == 6  # the teacher's copy is untouched
    assert len({c.id for c in student.cells}) == 5  # fresh cell ids, no duplicates


def test_make_student_writes_every_notebook(tmp_path, capsys):
    source = tmp_path / "notebooks"
    source.mkdir()
    v4 = nbformat.v4
    exercise = [v4.new_markdown_cell("**1.** Try."), solution(v4.new_code_cell("1"))]
    nbformat.write(v4.new_notebook(cells=exercise), source / "07_demo.ipynb")
    nbformat.write(v4.new_notebook(), source / "scratch.ipynb")  # not a numbered notebook
    (written,) = classroom.write_student_notebooks(source, tmp_path / "student")
    assert written == tmp_path / "student" / "07_demo.ipynb"
    assert [c.source for c in nbformat.read(written, as_version=4).cells] == ["**1.** Try.", ""]
    assert "1 solution cells removed" in capsys.readouterr().out
    with pytest.raises(FileNotFoundError, match="no notebooks named NN_"):
        classroom.write_student_notebooks(tmp_path / "student" / "none", tmp_path / "x")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem[:2] for p in NOTEBOOKS])
def test_committed_solutions_are_hidden_and_student_versions_hold_no_solution(path, tmp_path):
    notebook = nbformat.read(path, as_version=4)
    solutions = [c for c in notebook.cells if classroom.is_solution(c)]
    if not solutions:
        pytest.skip(f"{path.name} has no cell tagged 'solution' yet")
    for cell in solutions:  # JupyterLab shows neither the code nor the result until clicked
        assert cell.metadata.get("jupyter") == classroom.HIDDEN, cell.source[:60]
        # and the metadata JupyterLab itself writes, so opening the notebook does not modify it
        assert cell.cell_type != "code" or cell.metadata.get("collapsed") is True, cell.source[:60]
    assert notebook.metadata.kernelspec.display_name == classroom.KERNEL_DISPLAY_NAME
    hidden = [c for c in notebook.cells if c.metadata.get("jupyter", {}).get("source_hidden")]
    assert all(map(classroom.is_solution, hidden)), "a collapsed cell is not tagged 'solution'"

    nbformat.write(classroom.student_notebook(notebook), tmp_path / path.name)
    student = nbformat.read(tmp_path / path.name, as_version=4)
    nbformat.validate(student)
    assert not any(map(classroom.is_solution, student.cells))
    assert not any(c.metadata.get("jupyter", {}).get("source_hidden") for c in student.cells)
    kept = [c.source for c in notebook.cells if not classroom.is_solution(c)]
    assert [c.source for c in student.cells if c.source or c.cell_type != "code"] == [
        s for s in kept if s
    ]  # every exercise and every other cell, in order
    runs = sum(
        classroom.is_solution(c) and not (i and classroom.is_solution(notebook.cells[i - 1]))
        for i, c in enumerate(notebook.cells)
    )
    empty = [c for c in student.cells if c.cell_type == "code" and not c.source]
    assert len(empty) == runs >= 3
