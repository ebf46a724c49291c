"""Pack the write-up for Overleaf: ``python tools/make_zip.py`` -> ``writeup.zip``.

Holds what compiling needs and nothing else: ``main.tex``, ``sslproject.sty``,
``references.bib``, ``sections/``, ``figures/`` (if you made one), and the tables and
figures in ``results/`` (not its subfolders, not ``results.json``). On Overleaf: New
Project > Upload Project > ``writeup.zip``; it compiles with the default pdfLaTeX.
"""
from __future__ import annotations

import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PATTERNS = ["main.tex", "sslproject.sty", "references.bib", "sections/*.tex", "figures/**/*",
            "results/*.tex", "results/*.pdf", "results/*.png"]


def main(out: str = "writeup.zip") -> int:
    files = sorted({p for pattern in PATTERNS for p in ROOT.glob(pattern) if p.is_file()})
    target = ROOT / out
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in files:
            archive.write(path, path.relative_to(ROOT).as_posix())
    print(f"wrote {target.name}: {len(files)} files; upload it on Overleaf (New Project > Upload Project)")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
