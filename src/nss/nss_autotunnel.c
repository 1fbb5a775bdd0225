/*
 * libnss_autotunnel.so.2: peer names resolve to their ULAs, so that ssh,
 * curl and every other program reach a peer by name through the tunnel.
 *
 *     hosts: files autotunnel dns        (/etc/nsswitch.conf)
 *
 * Answers come from the hosts cache the agent writes (AGENT_HOSTS_PATH, or
 * $AUTOTUNNEL_HOSTS outside setuid programs), for the short name
 * ("desktop") and the FQDN ("desktop.alice.members.example.net"), AF_INET6
 * only. The module is loaded into every process that resolves a name: no
 * globals, no threads, no allocation that outlives a call, and nothing
 * but the hosts file is touched.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <nss.h>
#include <stdalign.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/hosts.h"

#define EXPORT __attribute__((visibility("default")))

/* The prototypes glibc calls (types from <nss.h>), so the compiler checks them. */
EXPORT nss_gethostbyname4_r _nss_autotunnel_gethostbyname4_r;
EXPORT nss_gethostbyname3_r _nss_autotunnel_gethostbyname3_r;
EXPORT nss_gethostbyname2_r _nss_autotunnel_gethostbyname2_r;
EXPORT nss_gethostbyname_r _nss_autotunnel_gethostbyname_r;
EXPORT nss_gethostbyaddr2_r _nss_autotunnel_gethostbyaddr2_r;
EXPORT nss_gethostbyaddr_r _nss_autotunnel_gethostbyaddr_r;

/* TTL reported to callers that ask (getaddrinfo caches nothing; nscd might). */
#define TTL 60

/* Read the whole hosts file into a malloc'd buffer; 0 or -errno. */
static int load(uint8_t **buf, size_t *len)
{
	const char *path = secure_getenv(AGENT_HOSTS_ENV);
	struct stat st;
	size_t got = 0;
	int fd, err = 0;

	*buf = NULL;
	*len = 0;
	if (!path || !*path)
		path = AGENT_HOSTS_PATH;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		err = -errno;
		goto out;
	}
	if (!S_ISREG(st.st_mode) || st.st_size < 0 || (uint64_t)st.st_size > AGENT_HOSTS_FILE_MAX) {
		err = -EBADMSG;
		goto out;
	}
	/* one byte more than the size, to notice a file that grew meanwhile */
	if (!(*buf = malloc((size_t)st.st_size + 1))) {
		err = -ENOMEM;
		goto out;
	}
	while (got <= (size_t)st.st_size) {
		ssize_t n = read(fd, *buf + got, (size_t)st.st_size + 1 - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = -errno;
			goto out;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	if (got > (size_t)st.st_size)
		err = -EBADMSG;	/* rewritten in place: the agent renames, so not by us */
	*len = got;
out:
	close(fd);
	if (err) {
		free(*buf);
		*buf = NULL;
	}
	return err;
}

/* Look @p name or @p ula up in the file. */
static enum nss_status find(const char *name, const uint8_t *ula, struct agent_host_entry *e,
			    int *errnop, int *h_errnop)
{
	uint8_t *buf;
	size_t len;
	int r = load(&buf, &len);

	if (r < 0) {
		/* no agent, no file: let the next source answer */
		*errnop = -r;
		*h_errnop = NO_RECOVERY;
		return NSS_STATUS_UNAVAIL;
	}
	r = name ? agent_hosts_lookup_name(buf, len, name, e) : agent_hosts_lookup_addr(buf, len, ula, e);
	free(buf);
	if (r == -ENOENT) {
		*errnop = ENOENT;
		*h_errnop = HOST_NOT_FOUND;
		return NSS_STATUS_NOTFOUND;
	}
	if (r < 0) {
		*errnop = EBADMSG;
		*h_errnop = NO_RECOVERY;
		return NSS_STATUS_UNAVAIL;
	}
	return NSS_STATUS_SUCCESS;
}

static enum nss_status too_small(int *errnop, int *h_errnop)
{
	/* glibc retries with a larger buffer */
	*errnop = ERANGE;
	*h_errnop = NETDB_INTERNAL;
	return NSS_STATUS_TRYAGAIN;
}

/* Carve @p n bytes aligned to @p align from the caller's buffer, or NULL. */
static void *carve(char **p, size_t *left, size_t n, size_t align)
{
	size_t pad = (align - ((uintptr_t)*p % align)) % align;
	void *r;

	if (*left < pad || *left - pad < n)
		return NULL;
	r = *p + pad;
	*p += pad + n;
	*left -= pad + n;
	return r;
}

enum nss_status _nss_autotunnel_gethostbyname4_r(const char *name, struct gaih_addrtuple **pat, char *buffer,
						  size_t buflen, int *errnop, int *h_errnop, int32_t *ttlp)
{
	struct agent_host_entry e;
	struct gaih_addrtuple *t;
	enum nss_status s = find(name, NULL, &e, errnop, h_errnop);
	char *p = buffer, *cname;
	size_t nl;

	if (s != NSS_STATUS_SUCCESS)
		return s;
	nl = strlen(e.fqdn) + 1;
	if (!(cname = carve(&p, &buflen, nl, 1)) ||
	    !(t = carve(&p, &buflen, sizeof(*t), alignof(struct gaih_addrtuple))))
		return too_small(errnop, h_errnop);
	memcpy(cname, e.fqdn, nl);
	memset(t, 0, sizeof(*t));
	t->name = cname;
	t->family = AF_INET6;
	memcpy(t->addr, e.ula, 16);
	/* glibc may hand us a tuple of its own to fill (as nss-resolve handles it) */
	if (*pat)
		**pat = *t;
	else
		*pat = t;
	if (ttlp)
		*ttlp = TTL;
	*errnop = 0;
	*h_errnop = NETDB_SUCCESS;
	return NSS_STATUS_SUCCESS;
}

/* Fill @p host for entry @p e: name = FQDN, alias = label, one IPv6 address. */
static enum nss_status fill_hostent(const struct agent_host_entry *e, struct hostent *host, char *buffer,
				    size_t buflen, int *errnop, int *h_errnop)
{
	size_t nl = strlen(e->fqdn) + 1, ll = strlen(e->label) + 1;
	char *p = buffer, *hname, *alias, *addr, **aliases, **addrs;

	if (!(hname = carve(&p, &buflen, nl, 1)) || !(alias = carve(&p, &buflen, ll, 1)) ||
	    !(addr = carve(&p, &buflen, 16, alignof(struct in6_addr))) ||
	    !(aliases = carve(&p, &buflen, 2 * sizeof(char *), alignof(char *))) ||
	    !(addrs = carve(&p, &buflen, 2 * sizeof(char *), alignof(char *))))
		return too_small(errnop, h_errnop);
	memcpy(hname, e->fqdn, nl);
	memcpy(alias, e->label, ll);
	memcpy(addr, e->ula, 16);
	aliases[0] = alias;
	aliases[1] = NULL;
	addrs[0] = addr;
	addrs[1] = NULL;
	host->h_name = hname;
	host->h_aliases = aliases;
	host->h_addrtype = AF_INET6;
	host->h_length = 16;
	host->h_addr_list = addrs;
	*errnop = 0;
	*h_errnop = NETDB_SUCCESS;
	return NSS_STATUS_SUCCESS;
}

enum nss_status _nss_autotunnel_gethostbyname3_r(const char *name, int af, struct hostent *host, char *buffer,
						  size_t buflen, int *errnop, int *h_errnop, int32_t *ttlp,
						  char **canonp)
{
	struct agent_host_entry e;
	enum nss_status s;

	if (af == AF_UNSPEC)
		af = AF_INET6;
	s = find(name, NULL, &e, errnop, h_errnop);
	if (s != NSS_STATUS_SUCCESS)
		return s;
	if (af != AF_INET6) {
		/* the name exists, but has no address of this family */
		*errnop = ENOENT;
		*h_errnop = NO_DATA;
		return NSS_STATUS_NOTFOUND;
	}
	s = fill_hostent(&e, host, buffer, buflen, errnop, h_errnop);
	if (s == NSS_STATUS_SUCCESS) {
		if (ttlp)
			*ttlp = TTL;
		if (canonp)
			*canonp = host->h_name;
	}
	return s;
}

enum nss_status _nss_autotunnel_gethostbyname2_r(const char *name, int af, struct hostent *host, char *buffer,
						  size_t buflen, int *errnop, int *h_errnop)
{
	return _nss_autotunnel_gethostbyname3_r(name, af, host, buffer, buflen, errnop, h_errnop, NULL, NULL);
}

enum nss_status _nss_autotunnel_gethostbyname_r(const char *name, struct hostent *host, char *buffer,
						 size_t buflen, int *errnop, int *h_errnop)
{
	return _nss_autotunnel_gethostbyname3_r(name, AF_INET, host, buffer, buflen, errnop, h_errnop, NULL, NULL);
}

enum nss_status _nss_autotunnel_gethostbyaddr2_r(const void *addr, socklen_t len, int af, struct hostent *host,
						  char *buffer, size_t buflen, int *errnop, int *h_errnop,
						  int32_t *ttlp)
{
	struct agent_host_entry e;
	enum nss_status s;

	if (af != AF_INET6 || len != 16 || ((const uint8_t *)addr)[0] != 0xfd) {
		*errnop = EAFNOSUPPORT;
		*h_errnop = HOST_NOT_FOUND;
		return NSS_STATUS_NOTFOUND;
	}
	s = find(NULL, addr, &e, errnop, h_errnop);
	if (s != NSS_STATUS_SUCCESS)
		return s;
	s = fill_hostent(&e, host, buffer, buflen, errnop, h_errnop);
	if (s == NSS_STATUS_SUCCESS && ttlp)
		*ttlp = TTL;
	return s;
}

enum nss_status _nss_autotunnel_gethostbyaddr_r(const void *addr, socklen_t len, int af, struct hostent *host,
						 char *buffer, size_t buflen, int *errnop, int *h_errnop)
{
	return _nss_autotunnel_gethostbyaddr2_r(addr, len, af, host, buffer, buflen, errnop, h_errnop, NULL);
}
