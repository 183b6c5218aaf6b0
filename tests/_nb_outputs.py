"""Text outputs of an executed notebook, sanitized as nbval sanitizes them (shared by tests)."""

from __future__ import annotations

import json
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SANITIZE = REPO / "notebooks" / "sanitize.cfg"


def _sanitizer():
    from nbval.plugin import get_sanitize_patterns

    patterns = get_sanitize_patterns(SANITIZE.read_text(encoding="utf-8"))

    def sanitize(text: str) -> str:
        for regex, replace in patterns:
            text = re.sub(regex, replace, text)
        return text

    return sanitize


class _Stdout(str):
    """Marks collected stdout text, so consecutive stream chunks can be joined."""


def text_outputs(nb_path: Path) -> list[tuple[str, list[str]]]:
    """Per code cell: (first source line, [sanitized stdout / text/plain outputs])."""
    sanitize = _sanitizer()
    nb = json.loads(nb_path.read_text(encoding="utf-8"))
    cells = []
    for cell in nb["cells"]:
        if cell["cell_type"] != "code":
            continue
        texts = []
        for out in cell.get("outputs", []):
            if out["output_type"] == "stream" and out.get("name") == "stdout":
                chunk = "".join(out["text"])
                # the kernel may split one print over several stream messages: join them
                if texts and isinstance(texts[-1], _Stdout):
                    texts[-1] = _Stdout(texts[-1] + chunk)
                else:
                    texts.append(_Stdout(chunk))
            elif out["output_type"] in ("execute_result", "display_data"):
                plain = out.get("data", {}).get("text/plain")
                if plain is not None:
                    texts.append("".join(plain))
            elif out["output_type"] == "error":
                texts.append(f"ERROR {out['ename']}: {out['evalue']}")
        if "injected-parameters" in cell.get("metadata", {}).get("tags", []):
            continue  # papermill's cell; the committed notebooks have none
        source = "".join(cell["source"]).strip().splitlines()
        cells.append((source[0] if source else "", [sanitize(str(t)) for t in texts]))
    return cells
