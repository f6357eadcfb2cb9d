#!/bin/bash
#
# Builds and runs the CSV/UTF-8 unit test.
# Usage: csv_build_and_run.sh OUTDIR

set -euo pipefail

if [ $# -lt 1 ] || [ -z "$1" ]; then
    echo "usage: $0 OUTDIR" >&2
    exit 2
fi

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
core="$here/../../ngx_youdu_core"
out="$1"

mkdir -p "$out"

gcc -Wall -Wextra -Werror -std=gnu99 -O2 -fsanitize=address,undefined \
    -fno-sanitize-recover=all \
    -I "$core" \
    -o "$out/csv_utf8_test" \
    "$here/csv_utf8_test.c" "$core/ngx_youdu_csv.c" "$core/ngx_youdu_utf8.c"

status=0
"$out/csv_utf8_test" || status=$?
exit $status
