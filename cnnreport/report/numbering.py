"""Figure and table numbers written into the rendered HTML, in reading order.

Templates mark captions (`<span class="num-label" data-ref="fig-ID">Figure</span>`) and
references (`<a class="ref" href="#fig-ID">Figure</a>`); this pass numbers them, so the HTML in a
browser and the PDF say the same "Figure 7" (CSS counters would be print-only).
"""

from __future__ import annotations

import re

_FIG = re.compile(r'<span class="num-label" data-ref="(fig-[\w-]+)">Figure</span>')
_TAB = re.compile(r'<p class="table-caption"(?: id="(tab-[\w-]+)")?><span class="num-label">Table</span>')
_REF = re.compile(r'<a class="ref" href="#((?:fig|tab)-[\w-]+)">(Figure|Table)</a>')


def number(html: str) -> str:
    """Replace caption labels with 'Figure N.' / 'Table N.' and references with their numbers."""
    numbers: dict[str, int] = {}

    def fig(m: re.Match[str]) -> str:
        numbers[m.group(1)] = n = sum(1 for k in numbers if k.startswith("fig-")) + 1
        return f'<span class="num-label">Figure {n}.</span>'

    count = {"tab": 0}

    def tab(m: re.Match[str]) -> str:
        count["tab"] += 1
        if m.group(1):
            numbers[m.group(1)] = count["tab"]
        ident = f' id="{m.group(1)}"' if m.group(1) else ""
        return f'<p class="table-caption"{ident}><span class="num-label">Table {count["tab"]}.</span>'

    html = _TAB.sub(tab, _FIG.sub(fig, html))

    def ref(m: re.Match[str]) -> str:
        target, kind = m.group(1), m.group(2)
        if target not in numbers:
            return f"{kind.lower()} (not in this report)"
        return f'<a class="ref" href="#{target}">{kind} {numbers[target]}</a>'

    return _REF.sub(ref, html)
