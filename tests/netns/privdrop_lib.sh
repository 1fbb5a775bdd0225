# tests/netns/privdrop_lib.sh: checks of least privilege read from the
# kernel's own account of a running daemon, /proc/PID/task/*/status, for
# every thread (t_privdrop.sh, t_agent_privdrop.sh), and the throwaway
# system user they run a daemon as. Source it after lib.sh. Not a test itself.

# pd_user_add NAME: a system user and group NAME (no home, no login shell);
# their ids in PD_UID and PD_GID
pd_user_add() {
	useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$1" ||
		nt_fail "useradd $1"
	PD_UID=$(id -u "$1")
	PD_GID=$(id -g "$1")
	[ "$PD_UID" != 0 ] || nt_fail "useradd gave uid 0"
}

# pd_cleanup NAME: the EXIT trap of a test that made user NAME with
# pd_user_add: every process the test started is stopped before the user
# goes (userdel refuses while one runs as it), then nt_cleanup; a user left
# behind fails the test in the audit
pd_cleanup() {
	local rc=$? pid
	set +e
	for pid in $NT_PIDS; do nt_stop "$pid"; done
	! id "$1" >/dev/null 2>&1 || userdel "$1" 2>/dev/null
	if id "$1" >/dev/null 2>&1; then
		echo "audit: user $1 left behind" >&2
		rc=1
	fi
	(exit "$rc")
	nt_cleanup
}

# pd_tasks PID KEY WANT MIN: every thread of PID has the status line
# "KEY:<tab>WANT" (white space folded, exactly). A daemon with one thread
# would make the per-thread check weak: MIN threads at least.
pd_tasks() {
	local pid=$1 key=$2 want=$3 min=$4 n=0 t got
	for t in /proc/"$pid"/task/*; do
		got=$(sed -n "s/^$key:[[:space:]]*//p" "$t/status" | tr -s '\t ' ' ' | sed 's/ $//')
		[ "$got" = "$want" ] || nt_fail "pid $pid thread ${t##*/}: $key is '$got', wanted '$want'"
		n=$((n + 1))
	done
	[ "$n" -ge "$min" ] || nt_fail "pid $pid has $n threads, wanted $min at least"
}

# pd_ids PID UID GID MIN: every thread runs as UID and GID (real, effective,
# saved, file system) with GID its only supplementary group
pd_ids() {
	pd_tasks "$1" Uid "$2 $2 $2 $2" "$4"
	pd_tasks "$1" Gid "$3 $3 $3 $3" "$4"
	pd_tasks "$1" Groups "$3" "$4"
}

# pd_caps PID CAPS MIN: every thread has exactly CAPS (16 hex digits, as in
# status) permitted, effective and in its bounding set, nothing inheritable
# or ambient, and no_new_privs
pd_caps() {
	local set
	for set in CapPrm CapEff CapBnd; do
		pd_tasks "$1" $set "$2" "$3"
	done
	pd_tasks "$1" CapInh 0000000000000000 "$3"
	pd_tasks "$1" CapAmb 0000000000000000 "$3"
	pd_tasks "$1" NoNewPrivs 1 "$3"
}
