/* DNS name checks shared by the record builder, the hosts cache and the identity. */
#include <errno.h>
#include <string.h>

#include "agent/name.h"

static bool is_ldh(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

static char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

int agent_label_check(const char *s, size_t n)
{
	if (n == 0 || n > AGENT_LABEL_MAX)
		return -EINVAL;
	if (s[0] == '-' || s[n - 1] == '-')
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (!is_ldh(s[i]))
			return -EINVAL;
	return 0;
}

int agent_name_check(const char *name)
{
	size_t len = strnlen(name, AGENT_NAME_MAX + 1), start = 0;

	if (len == 0 || len > AGENT_NAME_MAX)
		return -EINVAL;
	while (start <= len) {
		const char *dot = memchr(name + start, '.', len - start);
		size_t end = dot ? (size_t)(dot - name) : len;
		const char *l = name + start;
		size_t n = end - start;

		/* RFC 6335 service labels and RFC 6763 "_services" start with '_' */
		if (n > 1 && l[0] == '_') {
			l++;
			n--;
		}
		if (agent_label_check(l, n))
			return -EINVAL;
		start = end + 1;
		if (!dot)
			break;
	}
	return 0;
}

int agent_name_canon(char *dst, size_t cap, const char *src)
{
	size_t n = strnlen(src, AGENT_NAME_MAX + 2);

	if (n > 0 && src[n - 1] == '.')
		n--;
	if (n > AGENT_NAME_MAX)
		return -EINVAL;
	if (n + 1 > cap)
		return -ENOSPC;
	for (size_t i = 0; i < n; i++)
		dst[i] = lower(src[i]);
	dst[n] = '\0';
	if (agent_name_check(dst)) {
		dst[0] = '\0';
		return -EINVAL;
	}
	return (int)n;
}

bool agent_name_equal(const char *a, const char *b)
{
	size_t na = strlen(a), nb = strlen(b);

	if (na > 0 && a[na - 1] == '.')
		na--;
	if (nb > 0 && b[nb - 1] == '.')
		nb--;
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (lower(a[i]) != lower(b[i]))
			return false;
	return true;
}
