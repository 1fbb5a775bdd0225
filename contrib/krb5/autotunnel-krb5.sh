# /etc/profile.d/autotunnel-krb5.sh (package autotunnel; docs/sso.md):
# libkrb5 (kinit, ssh's GSSAPI) also reads the realms of the account's
# hosts, which autotunneld writes to /run/autotunnel/krb5.conf. The
# system's own /etc/krb5.conf comes first, so its settings win.
if [ -r /run/autotunnel/krb5.conf ]; then
	case ":${KRB5_CONFIG:-}:" in
	*:/run/autotunnel/krb5.conf:*) ;;
	*) KRB5_CONFIG="${KRB5_CONFIG:-/etc/krb5.conf}:/run/autotunnel/krb5.conf"; export KRB5_CONFIG ;;
	esac
fi
