#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ini.h>

#include "common/conf.h"

struct load_ctx {
	const struct conf_schema *s;
	void *dst;
	char msg[256];
	int rc;
};

static const struct conf_item *find_item(const struct conf_schema *s, const char *section,
					 const char *key)
{
	for (size_t i = 0; i < s->n_items; i++) {
		const struct conf_item *it = &s->items[i];

		if ((section == NULL || strcmp(it->section, section) == 0) && strcmp(it->key, key) == 0)
			return it;
	}
	return NULL;
}

static bool section_known(const struct conf_schema *s, const char *section)
{
	for (size_t i = 0; i < s->n_items; i++)
		if (strcmp(s->items[i].section, section) == 0)
			return true;
	return false;
}

static int parse_bool(const char *v, bool *out)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };

	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(v, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(v, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -EINVAL;
}

static int set_item(const struct conf_item *it, void *dst, const char *value, char *err, size_t errlen)
{
	char *field = (char *)dst + it->offset;
	char *end;
	long long v;
	bool b;

	switch (it->type) {
	case CONF_STRING: {
		char *copy;

		if (value[0] == '\0') {
			snprintf(err, errlen, "'%s' must not be empty", it->key);
			return -EINVAL;
		}
		copy = strdup(value);
		if (!copy) {
			snprintf(err, errlen, "out of memory");
			return -ENOMEM;
		}
		free(*(char **)(void *)field);
		*(char **)(void *)field = copy;
		return 0;
	}
	case CONF_INT:
		errno = 0;
		v = strtoll(value, &end, 10);
		if (errno || end == value || *end != '\0' || v < it->min || v > it->max) {
			snprintf(err, errlen, "'%s' must be an integer in %d..%d, not '%s'",
				 it->key, it->min, it->max, value);
			return -EINVAL;
		}
		*(int *)(void *)field = (int)v;
		return 0;
	case CONF_BOOL:
		if (parse_bool(value, &b)) {
			snprintf(err, errlen, "'%s' must be yes or no, not '%s'", it->key, value);
			return -EINVAL;
		}
		*(bool *)(void *)field = b;
		return 0;
	}
	snprintf(err, errlen, "'%s' has no type", it->key);
	return -EINVAL;
}

int conf_set(const struct conf_schema *s, void *dst, const char *section, const char *key,
	     const char *value, char *err, size_t errlen)
{
	const struct conf_item *it = find_item(s, section, key);

	if (it)
		return set_item(it, dst, value, err, errlen);
	if (!section_known(s, section) && s->other)
		return s->other(s->other_arg, section, key, value, err, errlen);
	if (section_known(s, section) || section[0] == '\0')
		snprintf(err, errlen, "unknown key '%s'%s%s%s", key, section[0] ? " in section [" : "",
			 section, section[0] ? "]" : "");
	else
		snprintf(err, errlen, "unknown section [%s]", section);
	return -EINVAL;
}

static int on_ini_line(void *user, const char *section, const char *name, const char *value)
{
	struct load_ctx *c = user;
	int rc;

	if (c->rc)
		return 1;	/* keep only the first error; inih reports its line */
	if (name == NULL)	/* a section header on its own */
		return 1;
	rc = conf_set(c->s, c->dst, section, name, value ? value : "", c->msg, sizeof(c->msg));
	if (rc) {
		c->rc = rc;
		return 0;
	}
	return 1;
}

/*
 * What inih does not say: a section header must close with ']' (inih takes
 * "[tunnel" for a syntax error, or worse, for keys of the previous
 * section), and a section nobody reads must not be skipped silently
 * because it has no key yet. The first such line, or 0; its message in
 * @p msg. Lines are split and commented the way inih does (';' or '#'
 * first on the line).
 */
static int check_headers(const struct conf_schema *s, const char *text, char *msg, size_t msglen)
{
	int lineno = 0;

	for (const char *p = text; *p;) {
		const char *eol = strchr(p, '\n'), *end = eol ? eol : p + strlen(p), *q = p, *close;
		size_t len;
		char name[128];

		lineno++;
		while (q < end && (*q == ' ' || *q == '\t' || *q == '\r'))
			q++;
		if (q < end && *q == '[') {
			close = memchr(q, ']', (size_t)(end - q));
			if (!close) {
				len = (size_t)(end - q);
				while (len && (q[len - 1] == ' ' || q[len - 1] == '\t' || q[len - 1] == '\r'))
					len--;
				snprintf(msg, msglen, "missing ']' in the section header '%.*s'",
					 (int)(len > 64 ? 64 : len), q);
				return lineno;
			}
			len = (size_t)(close - q - 1);
			snprintf(name, sizeof(name), "%.*s", (int)(len < sizeof(name) ? len : sizeof(name) - 1), q + 1);
			/* no other: only the schema's sections; other without section_ok judges by keys */
			if (!section_known(s, name) && (s->section_ok ? !s->section_ok(name) : !s->other)) {
				snprintf(msg, msglen, "unknown section [%s]", name);
				return lineno;
			}
		}
		if (!eol)
			break;
		p = eol + 1;
	}
	return 0;
}

static int finish(struct load_ctx *c, int line, const char *name, char *err, size_t errlen)
{
	if (line == 0)
		return 0;
	if (line < 0) {
		snprintf(err, errlen, "%s: out of memory", name);
		return -ENOMEM;
	}
	snprintf(err, errlen, "%s:%d: %s", name, line,
		 c->rc ? c->msg : "syntax error (expected [section] or key = value)");
	return c->rc ? c->rc : -EINVAL;
}

int conf_load_string(const struct conf_schema *s, void *dst, const char *name, const char *text,
		     char *err, size_t errlen)
{
	struct load_ctx c = { .s = s, .dst = dst };
	char msg[256];
	int bad = check_headers(s, text, msg, sizeof(msg)), line;

	if (bad) {
		/* before anything is set from a file that is wrong */
		snprintf(err, errlen, "%s:%d: %s", name, bad, msg);
		return -EINVAL;
	}
	line = ini_parse_string(text, on_ini_line, &c);
	return finish(&c, line, name, err, errlen);
}

#define CONF_FILE_MAX (1 << 20)

int conf_load_file(const struct conf_schema *s, void *dst, const char *path, char *err, size_t errlen)
{
	FILE *fp = fopen(path, "r");
	char *text;
	size_t n;
	int e, rc;

	if (!fp) {
		e = errno;
		snprintf(err, errlen, "%s: %s", path, strerror(e));
		return -e;
	}
	/* read whole, so that the headers are checked before any key is applied */
	if (!(text = malloc(CONF_FILE_MAX + 1))) {
		fclose(fp);
		snprintf(err, errlen, "%s: out of memory", path);
		return -ENOMEM;
	}
	n = fread(text, 1, CONF_FILE_MAX + 1, fp);
	e = ferror(fp) ? errno : 0;
	fclose(fp);
	if (e || n > CONF_FILE_MAX) {
		snprintf(err, errlen, "%s: %s", path, e ? strerror(e) : "larger than 1 MiB");
		free(text);
		return e ? -e : -EFBIG;
	}
	text[n] = '\0';
	if (memchr(text, '\0', n)) {
		snprintf(err, errlen, "%s: not a text file (a NUL byte)", path);
		free(text);
		return -EINVAL;
	}
	rc = conf_load_string(s, dst, path, text, err, errlen);
	free(text);
	return rc;
}

static const struct conf_item *find_opt(const struct conf_schema *s, const char *name)
{
	return find_item(s, NULL, name);
}

int conf_parse_args(const struct conf_schema *s, void *dst, int argc, char *const argv[],
		    int *next, char *err, size_t errlen)
{
	int i, rc, stop = argc;
	bool loaded = false;

	/* Pass 1: find where the options end and load the config file. */
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--") == 0 || a[0] != '-' || a[1] == '\0') {
			stop = i;
			break;
		}
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0)
			return -EAGAIN;
		if (strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0) {
			if (i + 1 >= argc) {
				snprintf(err, errlen, "%s: needs a file name", a);
				return -EINVAL;
			}
			rc = conf_load_file(s, dst, argv[++i], err, errlen);
			if (rc)
				return rc;
			loaded = true;
			continue;
		}
		if (strncmp(a, "--config=", 9) == 0) {
			rc = conf_load_file(s, dst, a + 9, err, errlen);
			if (rc)
				return rc;
			loaded = true;
			continue;
		}
		if (strncmp(a, "--", 2) == 0 && !strchr(a, '=')) {
			const struct conf_item *it = find_opt(s, a + 2);

			if (it && it->type != CONF_BOOL)
				i++;	/* skip the value */
		}
	}
	if (!loaded && s->default_file) {
		rc = conf_load_file(s, dst, s->default_file, err, errlen);
		if (rc && rc != -ENOENT)
			return rc;
	}
	/* Pass 2: apply the options in order. */
	for (i = 1; i < stop; i++) {
		const char *a = argv[i], *name, *eq, *value;
		const struct conf_item *it;
		char key[64], msg[192];
		bool negated = false;

		if (strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0) {
			i++;
			continue;
		}
		if (strncmp(a, "--config=", 9) == 0)
			continue;
		if (strncmp(a, "--", 2) != 0) {
			snprintf(err, errlen, "%s: unknown option", a);
			return -EINVAL;
		}
		name = a + 2;
		eq = strchr(name, '=');
		if ((size_t)(eq ? eq - name : (ptrdiff_t)strlen(name)) >= sizeof(key)) {
			snprintf(err, errlen, "%.64s...: unknown option", a);
			return -EINVAL;
		}
		snprintf(key, sizeof(key), "%.*s", (int)(eq ? eq - name : (ptrdiff_t)strlen(name)), name);
		it = find_opt(s, key);
		if (!it && strncmp(key, "no-", 3) == 0) {
			it = find_opt(s, key + 3);
			if (it && it->type == CONF_BOOL)
				negated = true;
			else
				it = NULL;
		}
		if (!it) {
			snprintf(err, errlen, "--%s: unknown option", key);
			return -EINVAL;
		}
		if (it->type == CONF_BOOL && !eq) {
			value = negated ? "no" : "yes";
		} else if (eq) {
			value = eq + 1;
		} else if (i + 1 < argc) {
			value = argv[++i];
		} else {
			snprintf(err, errlen, "--%s: needs a value", key);
			return -EINVAL;
		}
		rc = set_item(it, dst, value, msg, sizeof(msg));
		if (rc) {
			snprintf(err, errlen, "--%s: %s", key, msg);
			return rc;
		}
	}
	if (stop < argc && strcmp(argv[stop], "--") == 0)
		stop++;
	*next = stop;
	return 0;
}

void conf_usage(const struct conf_schema *s, void *fp)
{
	for (size_t i = 0; i < s->n_items; i++) {
		const struct conf_item *it = &s->items[i];
		char opt[96];

		snprintf(opt, sizeof(opt), "--%s%s", it->key,
			 it->type == CONF_BOOL ? "" : it->type == CONF_INT ? " N" : " VALUE");
		fprintf(fp, "  %-28s %s%s%s%s\n", opt, it->help ? it->help : "",
			it->section[0] ? " [" : "", it->section, it->section[0] ? "]" : "");
	}
	fprintf(fp, "  %-28s %s\n", "-c, --config FILE", "read settings from an INI file first");
}

void conf_free(const struct conf_schema *s, void *dst)
{
	for (size_t i = 0; i < s->n_items; i++) {
		if (s->items[i].type == CONF_STRING) {
			char **p = (char **)(void *)((char *)dst + s->items[i].offset);

			free(*p);
			*p = NULL;
		}
	}
}
