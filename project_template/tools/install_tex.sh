#!/bin/sh
# Install what compiling the write-up needs, from Debian/Ubuntu packages, where it is missing:
#   latexmk                    the build driver (runs pdflatex and bibtex as often as needed)
#   texlive-latex-recommended  pdflatex, bibtex and the packages sslproject.sty uses
#                              (geometry, natbib, booktabs, caption, microtype, hyperref, xcolor)
# About 50 MB to download, 150 MB on disk. Non-interactive; needs root or sudo.
# Elsewhere: MacTeX (macOS), MiKTeX or TeX Live (Windows), or compile on Overleaf.
set -eu

PACKAGES="latexmk texlive-latex-recommended"
STYLES="geometry.sty natbib.sty booktabs.sty caption.sty microtype.sty hyperref.sty xcolor.sty amsmath.sty"

if command -v latexmk >/dev/null 2>&1 && command -v kpsewhich >/dev/null 2>&1 \
    && kpsewhich $STYLES >/dev/null 2>&1; then
    echo "install_tex: latexmk and the LaTeX packages are installed already"
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "install_tex: no apt-get here: install TeX Live with latexmk by hand (MacTeX on macOS," \
         "MiKTeX or TeX Live on Windows), or compile on Overleaf" >&2
    exit 1
fi
if [ "$(id -u)" -eq 0 ]; then
    SUDO=""
elif command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
else
    echo "install_tex: run as root (or install sudo) to install: $PACKAGES" >&2
    exit 1
fi
echo "install_tex: installing $PACKAGES"
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $PACKAGES >/dev/null
echo "install_tex: done ($(latexmk -v | head -n 2 | tail -n 1))"
