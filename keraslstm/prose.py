"""Discussion sentences rendered from the run's own numbers (all notebooks).

A notebook never types a number it measures into Markdown: quick, lab and full runs would then
read sentences that their own outputs contradict. Instead a code cell calls
`say("FID fell from {before:.0f} to {after:.0f}.", before=fid[0], after=fid[-1])`, which shows the
sentence as Markdown and keeps each formatted value in the output's metadata, so a test can check
that every number in the rendered text came from the data or from the template itself.
"""

import re
import string

__all__ = ["say", "render", "listing", "NUMBER", "numbers_in"]

NUMBER = re.compile(r"(?<![\w.])[-+−]?\d[\d,]*(?:\.\d+)?(?:e[-+]?\d+)?")
METADATA_KEY = "keraslstm-prose"


def numbers_in(text):
    """The numbers written in `text`, as strings without thousands separators ('1,935' -> '1935')."""
    return [m.replace(",", "").replace("−", "-").lstrip("+") for m in NUMBER.findall(text)]


def listing(items):
    """`items` as an English list: 'a', 'a and b', 'a, b and c' (for names inside a sentence)."""
    items = [str(item) for item in items]
    if not items:
        raise ValueError("listing: nothing to list")
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def render(template, **values):
    """`template` filled from `values` (str.format fields) and the formatted text of each field."""
    formatter = string.Formatter()
    parts, fields = [], {}
    for literal, name, spec, conversion in formatter.parse(template):
        parts.append(literal)
        if name is None:
            continue
        if name not in values:
            raise KeyError(f"say: the template uses {{{name}}} but no value {name!r} was given")
        value = formatter.convert_field(values[name], conversion)
        text = formatter.format_field(value, spec or "")
        fields.setdefault(name, []).append(text)
        parts.append(text)
    unused = set(values) - set(fields)
    if unused:
        raise ValueError(f"say: values {sorted(unused)} are not used in the template")
    return "".join(parts), fields


def say(template, **values):
    """Display `template` filled from `values` as Markdown; the formatted fields go into the
    output's metadata under "keraslstm-prose"."""
    from IPython.display import Markdown, display

    text, fields = render(template, **values)
    display(Markdown(text), metadata={METADATA_KEY: {"template": template, "fields": fields}})
