#!/bin/sh
# Issue 13 part 2, accounts against offline guessing and misuse, with
# autotunnel-dnsd in rv and the agent on hostB:
#   - weak passwords are refused by `account add` and `passwd` (and by
#     `autotunnel login`) with a message that says why; a good one is taken;
#   - `account add ns` (the default server name) and the label holding this
#     server's own name are refused;
#   - the database, its -wal and -shm, and the TLS key and certificate are
#     0600 under umask 022;
#   - _kdf.D answers unsigned with the account's parameters (v=1, N=2^17,
#     a random salt), while the rest of D stays private; the TSIG key that
#     `account show --tsig` prints is the one Python's hashlib.scrypt derives
#     from those parameters, and nsupdate signs with it;
#   - the agent signs in with keys derived from the fetched parameters;
#   - a legacy account (stored without parameters) answers v=0 and still
#     signs in; `account passwd` moves it to v=1; a database of schema
#     version 1 is migrated when opened.
. "${AT_SRC:-$(dirname "$0")/../..}/tests/netns/lib.sh"
. "$AT_SRC/tests/netns/agent_lib.sh"
nt_setup
[ -x "$AT_AGENTD" ] && [ -x "$AT_CLI" ] && [ -x "$AT_DNSD" ] ||
	nt_fail "build autotunneld, autotunnel and autotunnel-dnsd first"
command -v dig >/dev/null && command -v nsupdate >/dev/null && command -v sqlite3 >/dev/null ||
	{ echo "SKIP: needs dig, nsupdate and sqlite3"; exit 77; }
umask 022
nt_topology

Z=$AT_ZONE
DB=$NT_DIR/rv/dns.db
dnsd() { nt_exec rv "$AT_DNSD" --zone "$Z" --db "$DB" "$@"; }
expect() { [ "$2" = "$3" ] || nt_fail "$1: expected '$3', got '$2'"; nt_pass "$1"; }
# add_refused NAME PASSWORD MESSAGE [options]: `account add` fails saying exactly MESSAGE
add_refused() {
	local name=$1 pw=$2 want=$3 out; shift 3
	out=$(printf '%s\n' "$pw" | dnsd "$@" account add "$name" 2>&1) && nt_fail "account add $name with '$pw' succeeded"
	expect "account add $name refused: $want" "$out" "autotunnel-dnsd: $want"
}

at_dnsd

# ---- weak passwords, reserved names
add_refused alice 'secret' "the password is too short: it needs at least 10 characters"
add_refused alice 'qwertyuiop' "the password is one of the most common passwords"
add_refused alice 'zzzzzzzzzzzz' "the password is one character repeated"
add_refused carolcarol 'CarolCarol' "the password is the account's name"
add_refused ns 'a good long password' "the account name 'ns' is reserved: the server uses ns.$Z for itself"
add_refused box 'a good long password' "the account name 'box' is reserved: the server uses box.$Z for itself" \
	--server-name dns1.box.$Z
[ "$(dnsd account list)" = "" ] || nt_fail "refused accounts were stored: $(dnsd account list)"
printf 'correct horse battery\n' | dnsd account add alice || nt_fail "account add alice with a good password"
out=$(printf 'password123\n' | dnsd account passwd alice 2>&1) && nt_fail "passwd took a common password"
expect "passwd refuses a weak password" "$out" "autotunnel-dnsd: the password is one of the most common passwords"
nt_pass "a good password is taken"

# ---- file modes under umask 022 (the server holds the database open: -wal and -shm exist)
nt_wait 5 test -e "$DB-shm" || nt_fail "no $DB-shm"
for f in "$DB" "$DB-wal" "$DB-shm" "$DB.tls-key.pem" "$DB.tls-cert.pem"; do
	mode=$(stat -c %a "$f")
	[ "$mode" = 600 ] || nt_fail "$f has mode $mode: $(ls -l "$f")"
done
nt_pass "dns.db, -wal, -shm, the TLS key and certificate are 0600 under umask 022"

# ---- the parameters record, unsigned; the rest of D stays private
KDF=$(dnsd account show alice | sed -n 's/^kdf //p')
case $KDF in "v=1 alg=scrypt N=131072 r=8 p=1 salt="????????????????????????) ;;
*) nt_fail "account show: kdf '$KDF'" ;; esac
q() { nt_exec rv dig +time=2 +tries=1 +norec @198.51.100.53 "$@"; }
status() { q "$@" | sed -n 's/.*status: \([A-Z]*\),.*/\1/p'; }
expect "_kdf.alice answers unsigned with the account's parameters" "$(q +short _kdf.alice.$Z TXT)" "\"$KDF\""
expect "_kdf of an unknown account: NXDOMAIN" "$(status _kdf.nobody.$Z TXT)" NXDOMAIN
# (unsigned, a private name gets the NODATA every name under D gets: docs/dnsd.md)
expect "other names of alice stay private" "$(status h1.alice.$Z A)/$(q +short h1.alice.$Z A)" "NOERROR/"
K=$(dnsd account show alice --tsig)
SALT=${KDF##*salt=}
WANT=$(python3 -c '
import base64, hashlib, sys
k = hashlib.scrypt(b"correct horse battery",
                   salt=base64.b64decode(sys.argv[1]) + b"autotunnel kdf v1 alice.members.example.net",
                   n=131072, r=8, p=1, maxmem=1 << 30, dklen=64)
print(base64.b64encode(k[:32]).decode())' "$SALT")
expect "the stored TSIG key is scrypt of the password with the published parameters" "$K" \
	"hmac-sha256:alice.$Z:$WANT"

# ---- nsupdate with that key; _kdf.D cannot be updated
upd() {
	printf 'server 198.51.100.53 53\nzone %s\n%s\nsend\n' "$Z" "$1" | nt_exec rv nsupdate -y "$K" 2>&1 | tr '\n' ' '
}
expect "nsupdate with the key of account show --tsig" "$(upd "update add h1.alice.$Z 300 A 192.0.2.1")" ""
expect "dig -y reads it back" "$(q +short -y "$K" h1.alice.$Z A)" "192.0.2.1"
expect "and unsigned it stays private (NODATA, as for a name that does not exist)" "$(status h1.alice.$Z A)/$(q +short h1.alice.$Z A)" "NOERROR/"
expect "_kdf.alice cannot be updated" "$(upd "update add _kdf.alice.$Z 300 TXT x")" "update failed: REFUSED "

# ---- the agent signs in (parameters fetched over TLS with the pin)
at_agent_start hostB desktop
out=$(at_login hostB alice 'a wrong password' 2>&1) && nt_fail "login with a wrong password succeeded"
expect "login with a wrong password" "$out" \
	"error: login failed: the server rejected our key (BADSIG): wrong password or unknown account"
out=$(at_login hostB alice 'short' 2>&1) && nt_fail "login with a weak password succeeded"
expect "login refuses a weak password" "$out" \
	"error: login failed: the password is too short: it needs at least 10 characters (ask the server's operator to change it)"
out=$(at_login hostB alice 'correct horse battery') || nt_fail "login: $out"
expect "login with the v=1 parameters" "$out" "signed in to alice.$Z"
at_cli hostB logout >/dev/null || nt_fail "logout"

# ---- a legacy account: stored without parameters, keys from the fixed v=0 scrypt
LK=$(python3 -c '
import hashlib
print(hashlib.scrypt(b"legacy password", salt=b"autotunnel tsig v1 legacy.members.example.net",
                     n=16384, r=8, p=1, maxmem=1 << 26, dklen=32).hex())')
nt_exec rv sqlite3 "$DB" "INSERT INTO accounts(name, alg, key, created) VALUES ('legacy', 'hmac-sha256', x'$LK', 0)"
# any change through the CLI makes the server reload
printf 'another good password\n' | dnsd account add dave || nt_fail "account add dave"
expect "a legacy account's record says v=0" "$(q +short _kdf.legacy.$Z TXT)" '"v=0 alg=scrypt N=16384 r=8 p=1"'
out=$(at_login hostB legacy 'legacy password') || nt_fail "legacy login: $out"
expect "a legacy account still signs in" "$out" "signed in to legacy.$Z"
at_cli hostB logout >/dev/null || nt_fail "logout"
printf 'legacy password\n' | dnsd account passwd legacy || nt_fail "account passwd legacy"
case $(q +short _kdf.legacy.$Z TXT) in '"v=1 alg=scrypt N=131072 r=8 p=1 salt='*) ;;
*) nt_fail "after passwd: $(q +short _kdf.legacy.$Z TXT)" ;; esac
out=$(at_login hostB legacy 'legacy password') || nt_fail "login after passwd: $out"
expect "passwd moves a legacy account to v=1, and it signs in" "$out" "signed in to legacy.$Z"

# ---- a database of schema version 1 (before the parameters) is migrated
OLD=$NT_DIR/old.db
sqlite3 "$OLD" "CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE accounts (name TEXT PRIMARY KEY, alg TEXT NOT NULL, key BLOB NOT NULL, created INTEGER NOT NULL);
CREATE TABLE records (id INTEGER PRIMARY KEY, name BLOB NOT NULL, type INTEGER NOT NULL, class INTEGER NOT NULL,
 ttl INTEGER NOT NULL, rdata BLOB NOT NULL, expires INTEGER NOT NULL, account TEXT);
INSERT INTO meta VALUES ('version', 1);
INSERT INTO accounts VALUES ('erin', 'hmac-sha256', x'$LK', 0);"
chmod 644 "$OLD"
out=$("$AT_DNSD" --zone "$Z" --db "$OLD" account show erin | sed -n 's/^kdf //p')
case $out in "v=0 "*) ;; *) nt_fail "old database: kdf '$out'" ;; esac
expect "schema version 1 migrated to 2" "$(sqlite3 "$OLD" "SELECT value FROM meta WHERE key = 'version'")" 2
expect "an old database is made 0600" "$(stat -c %a "$OLD")" 600
