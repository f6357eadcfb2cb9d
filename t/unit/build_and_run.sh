#!/bin/bash
#
# t/unit/build_and_run.sh OUTDIR
#
# Generates the pinyin table into OUTDIR, builds pinyin_test with
# AddressSanitizer/UBSan and runs it.  Exits with the test's status.

set -euo pipefail

if [ $# -ne 1 ]; then
    echo "usage: $0 OUTDIR" >&2
    exit 2
fi

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
core=$root/ngx_youdu_core

mkdir -p "$1"
out=$(cd "$1" && pwd)

perl "$core/gen_pinyin.pl" "$out/ngx_youdu_pinyin_table.c"

gcc -Wall -Wextra -Werror -O2 -std=gnu99 -fsanitize=address,undefined \
    -fno-sanitize-recover=undefined \
    -I "$core" \
    -o "$out/pinyin_test" \
    "$here/pinyin_test.c" \
    "$core/ngx_youdu_pinyin.c" \
    "$out/ngx_youdu_pinyin_table.c"

set +e
"$out/pinyin_test"
rc=$?
set -e

exit $rc
