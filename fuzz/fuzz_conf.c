/* Fuzz the INI settings loader (libinih and our schema checks). */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct settings {
	char *name;
	int n;
	bool flag;
};

static int other(void *arg, const char *section, const char *key, const char *value,
		 char *err, size_t errlen)
{
	return strncmp(section, "peer ", 5) == 0 ? 0 : -22;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct conf_item items[] = {
		{ "s", "name", CONF_STRING, offsetof(struct settings, name), 0, 0, NULL },
		{ "s", "n", CONF_INT, offsetof(struct settings, n), -5, 70000, NULL },
		{ "", "flag", CONF_BOOL, offsetof(struct settings, flag), 0, 0, NULL },
	};
	static const struct conf_schema schema = { items, 3, other, NULL };
	struct settings st = { 0 };
	char err[256];
	char *text = malloc(size + 1);

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (conf_load_string(&schema, &st, "fuzz", text, err, sizeof(err)) == 0 && st.n != 0 &&
	    (st.n < -5 || st.n > 70000))
		abort();
	conf_free(&schema, &st);
	free(text);
	return 0;
}
