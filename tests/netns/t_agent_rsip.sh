#!/bin/sh
# Issue 7: an account host behind an RSIP gateway publishes the address it
# is lent (RFC 3104 App. G), and a peer starts a tunnel to it there.
#   hostA ("laptop") behind natA, which runs autotunnel-gwd with RSIP on;
#   hostA's agent has `[rsip] gateway = auto`. hostB ("desktop") is the
#   agent on pub (a public address). Both sign in to autotunnel-dnsd in rv.
#   The server holds hostA's A = Nb (natA's WAN address) and SRV port = the
#   IKE port the gateway lent; `status`/`netcheck` say "via RSIP"; hostB's
#   first packet to hostA's ULA makes the tunnel from hostB's side, to
#   Nb:port, which the gateway tunnels to hostA; ping and TCP go through.
. "${AT_SRC:-$(dirname "$0")/../..}/tests/netns/lib.sh"
. "$AT_SRC/tests/netns/agent_lib.sh"
nt_setup
nt_topology

NB=203.0.113.10 PW='correct horse battery'
at_dnsd
at_account alice "$PW"
nt_bg natA gwdA "$AT_GWD" --wan wan0 --lan lan0 --state-dir "$NT_DIR/gwdA"
GWD_PID=$NT_LAST_PID
nt_wait 5 test -S "$NT_DIR/gwdA/control" || nt_fail "gwd on natA did not start"
at_agent_start hostA laptop "[rsip]" "gateway = auto" "[tunnel]" "native-esp = yes"
at_agent_start pub desktop "[tunnel]" "native-esp = yes"

at_log_wait hostA "reachable at $NB:[0-9]* through RSIP" 10 ||
	nt_fail "hostA was lent no address: $(cat "$NT_DIR/agent-hostA.log")"
P=$(sed -n "s/.*reachable at $NB:\([0-9]*\) through RSIP.*/\1/p" "$NT_DIR/agent-hostA.log" | head -1)
grep -q "rsip: gateway 192.168.1.1 lent us $NB: IKE port $P, SPIs " "$NT_DIR/agent-hostA.log" ||
	nt_fail "hostA's binding: $(grep 'rsip:' "$NT_DIR/agent-hostA.log")"
nt_pass "hostA borrowed $NB with IKE port $P from natA's gateway (gateway = auto)"

at_login hostA alice "$PW" >/dev/null || nt_fail "hostA: login failed"
at_login pub alice "$PW" >/dev/null || nt_fail "hostB: login failed"
nt_wait 10 sh -c "AUTOTUNNEL_CONTROL='$NT_DIR/pub/run/control' ip netns exec $(nt_ns pub) '$AT_CLI' hosts |
	grep -q '^laptop .* $NB:$P\$'" || nt_fail "hostB does not list laptop at $NB:$P: $(at_cli pub hosts)"
UA=$(at_ula hostA) UB=$(at_ula pub)

# the records in the server (dig -y over TCP with the account's TSIG key)
K=$(nt_exec rv "$AT_DNSD" --db "$NT_DIR/rv/dns.db" account show alice --tsig)
D=alice.$AT_ZONE
MAC=$(nt_exec hostA cat /sys/class/net/eth0/address)
E=$(echo "$MAC" | awk -F: '{ printf "%s-%s-%s-FF-FE-%s-%s-%s", $1, $2, $3, $4, $5, $6 }' | tr a-f A-F)
dq() { nt_exec rv dig +tcp +short -y "$K" @198.51.100.53 "$1" "$2"; }
got=$(dq "_autotunnel._udp.laptop.$D" SRV)
[ "$got" = "0 0 $P AutoTunnel-$E.$D." ] || nt_fail "laptop's SRV: '$got' (wanted port $P)"
got=$(dq "AutoTunnel-$E.$D" A)
[ "$got" = "$NB" ] || nt_fail "laptop's A: '$got' (wanted $NB)"
[ "$(dq "laptop.$D" AAAA)" = "$UA" ] || nt_fail "laptop's AAAA: $(dq "laptop.$D" AAAA)"
nt_pass "the server holds laptop's SRV port $P and A $NB (the lent address), not a port mapping"

out=$(at_cli hostA status)
echo "$out" | grep -qx "this     laptop   $UA   behind NAT $NB:$P via RSIP" || nt_fail "hostA status: $out"
out=$(at_cli hostA netcheck)
echo "$out" | grep -qx "mapping    RSIP: $NB:$P" || nt_fail "hostA netcheck: $out"
nt_pass "status and netcheck say: behind NAT $NB:$P via RSIP"

# hostB's first packet makes the tunnel, from hostB's side, to Nb and the lent port
nt_exec pub ping -6 -c 3 -i 0.2 -W 3 "$UA" >/dev/null || nt_fail "ping -6 from hostB to hostA's ULA:
$(tail -20 "$NT_DIR/agent-pub.log")
$(tail -20 "$NT_DIR/agent-hostA.log")"
grep -q "laptop: starting a tunnel to $NB:$P (packets are waiting: tunnel on demand)" "$NT_DIR/agent-pub.log" ||
	nt_fail "hostB did not start the tunnel to $NB:$P"
grep -q "desktop: starting a tunnel" "$NT_DIR/agent-hostA.log" && nt_fail "hostA started a tunnel itself"
grep -q "peer desktop: child SA up, .*native ESP through the RSIP gateway" "$NT_DIR/agent-hostA.log" ||
	nt_fail "hostA: $(grep 'child SA up' "$NT_DIR/agent-hostA.log")"
# as responder, hostA's inbound SPI is one the gateway lent it (else the gateway could not hand it the ESP)
spi=$(sed -n 's/.*peer desktop: child SA up, .* spi in \(0x[0-9a-f]*\) .*/\1/p' "$NT_DIR/agent-hostA.log" | head -1)
lent=$(sed -n 's/.*lent us .* SPIs \([0-9a-fx,]*\), lease.*/\1/p' "$NT_DIR/agent-hostA.log" | head -1)
case ",$lent," in *",$spi,"*) ;; *) nt_fail "hostA's inbound SPI $spi is not one of the lent $lent" ;; esac
grep -q "peer laptop: child SA up, .*via $NB:$P, native ESP" "$NT_DIR/agent-pub.log" ||
	nt_fail "hostB: $(grep 'child SA up' "$NT_DIR/agent-pub.log")"
nt_pass "ping from hostB to laptop's ULA: tunnel started by hostB to $NB:$P, native ESP through the gateway"

head -c 300000 /dev/urandom >"$NT_DIR/blob"
nt_bg hostA sink socat -u "TCP6-LISTEN:5001,bind=[$UA],reuseaddr" "OPEN:$NT_DIR/blob.recv,creat,trunc"
nt_wait 5 nt_exec hostA sh -c 'ss -ltn | grep -q ":5001 "' || nt_fail "listener did not start"
timeout 30 ip netns exec "$(nt_ns pub)" socat -u "OPEN:$NT_DIR/blob" "TCP6:[$UA]:5001" ||
	nt_fail "TCP transfer from hostB to hostA failed"
nt_wait 10 cmp -s "$NT_DIR/blob" "$NT_DIR/blob.recv" || nt_fail "the data arrived damaged"
nt_pass "300 KB over TCP from hostB to laptop's ULA through the RSIP tunnel, intact"

# RSIP lost (the gateway stops): hostA publishes its port mapping again; back: Nb again
nt_stop "$GWD_PID"
at_log_wait hostA "RSIP address lost: publishing the port mapping again" 10 || nt_fail "hostA did not notice"
nt_wait 10 sh -c "[ \"\$(ip netns exec $(nt_ns rv) dig +tcp +short -y '$K' @198.51.100.53 _autotunnel._udp.laptop.$D SRV)\" = '0 0 4500 AutoTunnel-$E.$D.' ]" ||
	nt_fail "hostA's SRV after RSIP was lost: $(dq "_autotunnel._udp.laptop.$D" SRV)"
nt_bg natA gwdA2 "$AT_GWD" --wan wan0 --lan lan0 --state-dir "$NT_DIR/gwdA"
nt_wait 15 sh -c "[ \"\$(grep -c 'through RSIP: publishing that' '$NT_DIR/agent-hostA.log')\" -ge 2 ]" ||
	nt_fail "hostA did not borrow an address again: $(tail -5 "$NT_DIR/agent-hostA.log")"
P2=$(sed -n "s/.*reachable at $NB:\([0-9]*\) through RSIP.*/\1/p" "$NT_DIR/agent-hostA.log" | tail -1)
nt_wait 10 sh -c "[ \"\$(ip netns exec $(nt_ns rv) dig +tcp +short -y '$K' @198.51.100.53 _autotunnel._udp.laptop.$D SRV)\" = '0 0 $P2 AutoTunnel-$E.$D.' ]" ||
	nt_fail "hostA's SRV after RSIP came back: $(dq "_autotunnel._udp.laptop.$D" SRV)"
nt_pass "gateway stopped: SRV back to the mapping's port 4500; restarted: SRV port $P2 (RSIP) again"
