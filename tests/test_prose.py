"""Discussion rendered from data, and no measured number typed into the notebooks' Markdown."""

import json
from pathlib import Path

import pytest

from keraslstm import prose

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
# notebooks whose discussion is rendered by `prose.say` (the others adopt it in their own rework)
RENDERED = ("01_lstm_encoder_gan", "02_gan_vs_vae", "05_lstm_image_compression")
# numbers that Markdown may quote although a run prints them too: the papers' own numbers
QUOTED = {
    # the paper's Figs. 2 and 7; 784 pixels a digit; the years of the precision and authenticity
    # papers, which the package source shown in the notebook cites too
    "01_lstm_encoder_gan": {"20.5", "0.404", "0.494", "2024", "784", "2019", "2022"},
    "02_gan_vs_vae": {"6.8", "6.7", "7.8", "20.3", "23.8"},  # Lucic et al. 2018
    "05_lstm_image_compression": (
        {"2017", "0.995", "2.00", "0.904", "0.849", "0.125"}  # Fig. 5, Toderici's Kodak curve
        | {"0.014932", "0.013171", "0.016347", "0.011638"}  # Table 1
        | {"128", "256", "512"}  # Toderici's layer widths
        | {"0.375", "2717"}  # 3 x 4 x 32 bits / 1024 pixels = 24 / 64 bpp; the first stage's steps
    ),
}


def test_render_formats_each_field_and_keeps_what_it_wrote():
    text, fields = prose.render("FID {fid:.1f} over {n} seeds ({fid:.0f})", fid=68.14, n=3)
    assert text == "FID 68.1 over 3 seeds (68)"
    assert fields == {"fid": ["68.1", "68"], "n": ["3"]}
    with pytest.raises(KeyError, match="no value 'n'"):
        prose.render("{n} seeds")
    with pytest.raises(ValueError, match=r"\['extra'\] are not used"):
        prose.render("{n} seeds", n=3, extra=1)


def test_listing_joins_names_with_commas_and_one_and():
    assert prose.listing(["DCGAN"]) == "DCGAN"
    assert prose.listing(["hybrid", "DCGAN"]) == "hybrid and DCGAN"
    assert prose.listing(["a", "b", "c", 4]) == "a, b, c and 4"
    with pytest.raises(ValueError, match="nothing to list"):
        prose.listing([])


def test_numbers_in_reads_signs_separators_and_decimals():
    assert prose.numbers_in("1,935,003 params, −0.5 dB, +39.8 %, 2e-3, v2 x3") == [
        "1935003",
        "-0.5",
        "39.8",
        "2e-3",
    ]


def _measured(number):
    """A number that looks measured: three or more significant digits (not 100, 0.5 or 2e-3)."""
    digits = number.lstrip("-").split("e")[0].replace(".", "").lstrip("0")
    return len(digits if "." in number else digits.rstrip("0")) >= 3


@pytest.mark.parametrize("name", RENDERED)
def test_no_measured_number_is_typed_into_markdown(name):
    notebook = json.loads((NOTEBOOKS / f"{name}.ipynb").read_text())
    outputs, typed = set(), {}
    for index, cell in enumerate(notebook["cells"]):
        if cell["cell_type"] == "markdown":
            for number in prose.numbers_in("".join(cell["source"])):
                typed.setdefault(number, index)
            continue
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            text = "".join(output.get("text", "")) + "".join(
                "".join(data.get(kind, "")) for kind in ("text/plain", "text/markdown", "text/html")
            )
            outputs.update(prose.numbers_in(text))
    clash = {n: i for n, i in typed.items() if _measured(n) and n in outputs - QUOTED[name]}
    assert not clash, (
        f"{name}: Markdown cells type numbers the run prints ({{number: cell}}): {clash}"
    )


@pytest.mark.parametrize("name", RENDERED)
def test_rendered_sentences_take_their_numbers_from_the_data(name):
    notebook = json.loads((NOTEBOOKS / f"{name}.ipynb").read_text())
    rendered = [
        output
        for cell in notebook["cells"]
        for output in cell.get("outputs", [])
        if prose.METADATA_KEY in output.get("metadata", {})
    ]
    assert rendered, f"{name} renders no discussion with prose.say"
    for output in rendered:
        meta = output["metadata"][prose.METADATA_KEY]
        allowed = set(prose.numbers_in(meta["template"]))
        for texts in meta["fields"].values():
            allowed.update(n for text in texts for n in prose.numbers_in(text))
        text = "".join(output["data"]["text/markdown"])
        assert set(prose.numbers_in(text)) <= allowed, text
