#!/bin/sh
# Usage: check_symbols.sh LIBFILE PREFIX
# Fail (exit 1) if the object files in LIBFILE (a static library or an
# object) export any symbol not starting with PREFIX, listing each offender
# as "object: symbol". A library's helpers that leak out unprefixed collide
# with the programs that link it; make them static or give them the prefix.
set -eu
if [ $# -ne 2 ] || [ -z "$2" ]; then
	echo "usage: $0 LIBFILE PREFIX" >&2
	exit 2
fi
lib=$1
prefix=$2
if [ ! -r "$lib" ]; then
	echo "$0: cannot read $lib" >&2
	exit 2
fi
out=$(nm -g --defined-only "$lib") || {
	echo "$0: nm failed on $lib" >&2
	exit 2
}
bad=$(printf '%s\n' "$out" | awk -v p="$prefix" '
	/:$/ { obj = substr($0, 1, length($0) - 1); next }
	NF >= 3 && index($3, p) != 1 { print obj ": " $3 }
	NF == 2 && index($2, p) != 1 { print obj ": " $2 }')
if [ -n "$bad" ]; then
	n=$(printf '%s\n' "$bad" | wc -l)
	echo "$lib: $n exported symbol(s) without the prefix $prefix:"
	printf '%s\n' "$bad"
	exit 1
fi
n=$(printf '%s\n' "$out" | awk 'NF >= 2 && !/:$/' | wc -l)
echo "$lib: all $n exported symbols start with $prefix"
