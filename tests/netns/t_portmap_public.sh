#!/bin/sh
# Issue 4 (f): no gateway at all. With nothing answering PCP, NAT-PMP or
# UPnP IGD, `autotunnel portmap` reports a public network (RFC 6281 §4.1)
# and exits 0 within a bound set by its retry schedule:
#   1. natA's port 5351 closed (ICMP port unreachable): straight to UPnP,
#      then public;
#   2. natA dropping port 5351 silently: the 250 ms doubling schedule of
#      RFC 6886 §3.1 (PCP at 0, 250, 750 ms, NAT-PMP at 1750 ms with
#      --tries 4, given up at 3750 ms), then UPnP, then public.
. "${AT_SRC:-$(dirname "$0")/../..}/tests/netns/lib.sh"
nt_setup
nt_topology

AT="$AT_BUILD/src/autotunnel/autotunnel"
[ -x "$AT" ] || nt_fail "no $AT"
want_public=$(printf 'protocol none\nnetwork public')

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# 1. nothing listens on 192.168.1.1:5351
t0=$(now_ms)
rc=0
nt_exec hostA timeout 30 "$AT" portmap --udp 4500 --upnp-wait 1000 -vv \
	>"$NT_DIR/p1.out" 2>"$NT_DIR/p1.err" || rc=$?
t1=$(now_ms)
[ "$rc" = 0 ] || nt_fail "exit status $rc: $(cat "$NT_DIR/p1.err")"
[ "$(cat "$NT_DIR/p1.out")" = "$want_public" ] || nt_fail "output: $(cat "$NT_DIR/p1.out")"
grep -q "port 5351 is closed" "$NT_DIR/p1.err" || nt_fail "no ICMP port unreachable seen"
[ $((t1 - t0)) -lt 5000 ] || nt_fail "took $((t1 - t0)) ms with the port closed (bound 5000)"
nt_pass "closed port 5351: public network after $((t1 - t0)) ms"

# 2. natA drops port 5351: nothing comes back at all
nt_exec natA nft -f - <<'NFT'
table inet drop5351 {
	chain input {
		type filter hook input priority filter; policy accept;
		udp dport 5351 drop
	}
}
NFT
t0=$(now_ms)
rc=0
nt_exec hostA timeout 30 "$AT" portmap --udp 4500 --tries 4 --upnp-wait 1000 -vv \
	>"$NT_DIR/p2.out" 2>"$NT_DIR/p2.err" || rc=$?
t1=$(now_ms)
[ "$rc" = 0 ] || nt_fail "exit status $rc: $(cat "$NT_DIR/p2.err")"
[ "$(cat "$NT_DIR/p2.out")" = "$want_public" ] || nt_fail "output: $(cat "$NT_DIR/p2.out")"
# the attempts, in order, each at its time (+- 150 ms of scheduling slack)
grep -E 'send (PCP MAP|NAT-PMP map request)' "$NT_DIR/p2.err" |
	sed -E 's/.*\+([0-9]+) ms: send (PCP|NAT-PMP).*/\2 \1/' >"$NT_DIR/sends"
n=0
while read -r proto ms; do
	case $n in
	0) want_p=PCP want_t=0 ;;
	1) want_p=PCP want_t=250 ;;
	2) want_p=PCP want_t=750 ;;
	3) want_p=NAT-PMP want_t=1750 ;;
	*) nt_fail "more than 4 attempts: $(cat "$NT_DIR/sends")" ;;
	esac
	[ "$proto" = "$want_p" ] || nt_fail "attempt $n was $proto, not $want_p"
	d=$((ms - want_t))
	[ "$d" -ge 0 ] && [ "$d" -le 150 ] || nt_fail "attempt $n at $ms ms, not $want_t"
	n=$((n + 1))
done <"$NT_DIR/sends"
[ "$n" = 4 ] || nt_fail "$n attempts, not 4: $(cat "$NT_DIR/sends")"
grep -q 'UPnP IGD AddPortMapping' "$NT_DIR/p2.err" || nt_fail "UPnP IGD was not tried"
# given up at 3750 ms, then at most the UPnP wait and some slack
[ $((t1 - t0)) -ge 3750 ] || nt_fail "gave up after $((t1 - t0)) ms, before 3750"
[ $((t1 - t0)) -lt 7000 ] || nt_fail "took $((t1 - t0)) ms (bound 7000)"
nt_pass "silent port 5351: 4 attempts at 0/250/750/1750 ms, public network after $((t1 - t0)) ms"
