/*
 * Settings from an INI file (libinih) and from the command line, described
 * once by a schema so that every setting can be given either way and every
 * mistake is reported precisely ("FILE:LINE: what is wrong", or
 * "--option: what is wrong").
 */
#ifndef AT_COMMON_CONF_H
#define AT_COMMON_CONF_H

#include <stdbool.h>
#include <stddef.h>

enum conf_type {
	CONF_STRING,	/* char *, owned by the destination struct; conf_free() frees it */
	CONF_INT,	/* int, checked against [min, max] */
	CONF_BOOL,	/* bool: yes/no, true/false, on/off, 1/0 */
};

struct conf_item {
	const char *section;	/* INI section ("" for keys before any section) */
	const char *key;	/* INI key, and the long option --key */
	enum conf_type type;
	size_t offset;		/* offsetof() the field in the destination struct */
	int min, max;		/* CONF_INT bounds, inclusive */
	const char *help;	/* one line for --help */
};

/*
 * Called for a key in a section the schema does not list (e.g. "[peer
 * desktop]"). Returns 0, or a negative errno with a message in @p err.
 */
typedef int (*conf_section_fn)(void *arg, const char *section, const char *key,
			       const char *value, char *err, size_t errlen);

/* Is @p section (not one of the schema's) a section @p other takes, e.g. "peer NAME"? */
typedef bool (*conf_section_ok_fn)(const char *section);

struct conf_schema {
	const struct conf_item *items;
	size_t n_items;
	conf_section_fn other;	/* may be NULL: unknown sections are errors */
	void *other_arg;
	/*
	 * May be NULL. A section header that is neither the schema's nor
	 * accepted here is an error on its own line, even with no key under it
	 * ("[tunel]"). Without it: with no @p other, only the schema's sections
	 * are accepted; with @p other, only keys are checked (by @p other).
	 */
	conf_section_ok_fn section_ok;
	/*
	 * May be NULL. Loaded by conf_parse_args() when the command line
	 * gives no -c/--config and the file exists (a missing one is no error).
	 */
	const char *default_file;
};

/**
 * Load @p path into @p dst. Returns 0, -ENOENT/-EACCES for an unreadable
 * file, -EINVAL with "path:line: ..." in @p err: a bad value, an unknown
 * key, an unknown section (on its header's line, see section_ok), a
 * section header without its ']'.
 */
int conf_load_file(const struct conf_schema *s, void *dst, const char *path, char *err, size_t errlen)
	__attribute__((warn_unused_result));
/** Load INI text; @p name stands for the file name in messages. */
int conf_load_string(const struct conf_schema *s, void *dst, const char *name, const char *text,
		     char *err, size_t errlen) __attribute__((warn_unused_result));
/** Set one key of @p section from text, with the checks of the schema. */
int conf_set(const struct conf_schema *s, void *dst, const char *section, const char *key,
	     const char *value, char *err, size_t errlen) __attribute__((warn_unused_result));

/*
 * Apply the command line: "-c FILE"/"--config FILE" is loaded first
 * wherever it stands (without one, the schema's default_file if it exists), then every "--key VALUE", "--key=VALUE", "--key" and
 * "--no-key" (booleans) in order, so the command line wins. Stops at the
 * first argument that is not an option (a subcommand) or after "--", and
 * stores its index in @p next. "-h"/"--help" returns -EAGAIN so the caller
 * can print conf_usage().
 */
int conf_parse_args(const struct conf_schema *s, void *dst, int argc, char *const argv[],
		    int *next, char *err, size_t errlen) __attribute__((warn_unused_result));

/** Print one line per setting to @p fp (a FILE *). */
void conf_usage(const struct conf_schema *s, void *fp);

/** Free the strings the schema owns in @p dst. */
void conf_free(const struct conf_schema *s, void *dst);

#endif
