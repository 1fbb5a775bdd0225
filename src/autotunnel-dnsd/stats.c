#include "autotunnel-dnsd/stats.h"

static const char *const names[STAT_COUNT] = {
#define STAT_NAME(n) #n,
	STATS_LIST(STAT_NAME)
#undef STAT_NAME
};

const char *stat_name(enum stat_id id)
{
	return id < STAT_COUNT ? names[id] : "?";
}

void stats_sum(struct stats *sum, const struct stats *src)
{
	for (int i = 0; i < STAT_COUNT; i++)
		sum->c[i] += __atomic_load_n(&src->c[i], __ATOMIC_RELAXED);
}

void stats_print(const struct stats *s, FILE *fp)
{
	for (int i = 0; i < STAT_COUNT; i++)
		fprintf(fp, "%s %llu\n", names[i], (unsigned long long)s->c[i]);
}
