# tests/interop/dns_lib.sh: autotunnel-dnsd alone in a namespace "dns", for
# the t_dns_*.sh tests. Source it after lib.sh and nt_setup (with DB set
# first for a database elsewhere than $NT_DIR/dns.db). Not a test itself.
#   DNSD the program, DB its database, Z the zone (members.example.net)
#   dnsd ARGS...: the program's commands (account add, show, ...) on DB, in the namespace
#   dnsd_start NAME [OPTION...]: the server (nt_bg NAME) on 127.0.0.1 port 5353
#     with OPTIONs (--tls-port is one of them), DNSD_PID its pid; fails unless
#     it answers a query for the zone's SOA within 10 s
nt_add_ns dns
DNSD=$AT_BUILD/src/autotunnel-dnsd/autotunnel-dnsd
DB=${DB:-$NT_DIR/dns.db}
Z=members.example.net

dnsd() { nt_exec dns "$DNSD" --zone $Z --db "$DB" "$@"; }

dnsd_start() {
	local name=$1
	shift
	nt_bg dns "$name" "$DNSD" --zone $Z --listen 127.0.0.1 --port 5353 --db "$DB" "$@"
	DNSD_PID=$NT_LAST_PID
	nt_wait 10 nt_exec dns dig +time=1 +tries=1 @127.0.0.1 -p 5353 $Z SOA || nt_fail "server did not start"
}
