#!/bin/sh
# Issue 11: tests/netns/t_agent_roam_nomap.sh with desktop unmapped
# (ROAM_PEER=unmapped): laptop roams from a gwd-mapped network to one with
# no port mapping, where both ends are unmapped and the path must be
# punched, and back, with a TCP stream running (stall under 2 s; path
# mapped, then punched on both ends, then mapped). The move that loses
# laptop's mapping leaves neither end with a location, so both run a round
# with a punch request (docs/paths.md §9.4): laptop when its candidates are
# gathered again, desktop when it sees laptop's location withdrawn.
AT_SRC=${AT_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
export AT_SRC
ROAM_PEER=unmapped exec sh "$AT_SRC/tests/netns/t_agent_roam_nomap.sh"
