#!/bin/sh
# tools/src-metrics.sh: lines of C in src/ (*.c, *.h) that continue a macro
# (end in a backslash) and that open an #if/#ifdef/#ifndef, per 1000 lines
# (issue 23: 2-50 and 2-9 in the packages we compare ourselves with).
# Run from the package root: sh tools/src-metrics.sh
cat src/*.c src/*.h | awk '
    { n++ }
    /\\$/ { m++ }
    /^[ \t]*#[ \t]*if/ { i++ }
    END { printf "%d lines; macro-continuation %d (%.1f per 1000); #if %d (%.1f per 1000)\n",
                 n, m, 1000 * m / n, i, 1000 * i / n }'
