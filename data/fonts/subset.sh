#!/bin/sh
# Rebuilds data/fonts/wqy-microhei-subset.ttf, the font the CLI draws chart text with: WenQuanYi
# Micro Hei (Debian's fonts-wqy-microhei, Apache-2.0) cut down to Latin, punctuation and every
# Chinese character of the region names (data/regions.csv) and of the figure labels
# (server/src/domain/metric.rs). Needs pyftsubset (pip install fonttools). Run it again when
# either file gains a character: the client's chart tests fail until then.
set -eu
cd "$(dirname "$0")/../.."
source_font=${WQY_MICROHEI:-/usr/share/fonts/truetype/wqy/wqy-microhei.ttc}
chars=$(mktemp)
trap 'rm -f "$chars"' EXIT
python3 - "$chars" <<'PY'
import csv, sys
wanted = set()
with open("data/regions.csv", encoding="utf-8") as f:
    for row in csv.DictReader(f):
        wanted.update(row["name"])
with open("server/src/domain/metric.rs", encoding="utf-8") as f:
    wanted.update(c for c in f.read() if ord(c) >= 0x2E80)
with open(sys.argv[1], "w", encoding="utf-8") as out:
    out.write("".join(sorted(wanted)))
PY
pyftsubset "$source_font" --font-number=0 --text-file="$chars" \
  --unicodes=U+0020-007E,U+00A0-00FF,U+2010-2027,U+2030-203A,U+2190-2193,U+3000-303F,U+FF01-FF5E \
  --layout-features='' --no-hinting --desubroutinize \
  --output-file=data/fonts/wqy-microhei-subset.ttf
