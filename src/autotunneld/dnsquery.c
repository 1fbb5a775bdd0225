/* src/autotunneld/dnsquery.c: signed queries (see dnsquery.h). */
#include "autotunneld/dnsquery.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "autotunneld/dnsconn.h"
#include "common/clock.h"
#include "dns/name.h"
#include "dns/tsig.h"
#include "dnsc/msg.h"

struct dnsquery {
	struct dnsquery *next;
	struct dnsquery_set *qs;
	struct dnsconn *conn;
	struct dns_tsig t;
	struct dns_name q;
	uint16_t type, id;
	dnsquery_fn done;
	void *arg;
	bool cancelled;
};

struct dnsquery_set {
	struct dnsquery *head;
};

struct dnsquery_set *dnsquery_set_new(void)
{
	return calloc(1, sizeof(struct dnsquery_set));
}

void dnsquery_set_free(struct dnsquery_set *qs)
{
	if (!qs)
		return;
	while (qs->head) {
		struct dnsquery *x = qs->head;

		qs->head = x->next;
		dns_tsig_fini(&x->t);
		free(x);
	}
	free(qs);
}

static void unlink_query(struct dnsquery_set *qs, struct dnsquery *x)
{
	for (struct dnsquery **pp = &qs->head; *pp; pp = &(*pp)->next) {
		if (*pp == x) {
			*pp = x->next;
			return;
		}
	}
}

static void answer(void *arg, int err, const uint8_t *msg, size_t len)
{
	struct dnsquery *x = arg;
	static struct dnsc_resp r;
	char why[200];
	int rc = err;

	unlink_query(x->qs, x);
	if (x->cancelled || err == -ECANCELED) {
		dns_tsig_fini(&x->t);
		if (!x->cancelled)
			x->done(x->arg, -ECANCELED, NULL, "cancelled");
		free(x);
		return;
	}
	if (err) {
		snprintf(why, sizeof(why), "%s", err == -ETIMEDOUT ? "no answer from the server" :
			 dnsconn_last_error(x->conn)[0] ? dnsconn_last_error(x->conn) : strerror(-err));
	} else {
		rc = dnsc_resp_open(&r, msg, len, x->id, &x->q, x->type, &x->t, clock_wall_s());
		dnsc_resp_explain(&r, rc, why, sizeof(why));
	}
	dns_tsig_fini(&x->t);
	x->done(x->arg, rc, rc ? (rc == -EACCES ? &r : NULL) : &r, why);
	free(x);
}

int dnsquery_send(struct dnsquery_set *qs, struct dnsconn *conn, const struct dns_tsig_key *key,
		  const struct dns_name *q, uint16_t type, dnsquery_fn done, void *arg)
{
	static uint8_t buf[DNSC_MSG_MAX];
	struct dnsquery *x = calloc(1, sizeof(*x));
	size_t len;
	int rc;

	if (!x)
		return -ENOMEM;
	x->qs = qs;
	x->conn = conn;
	x->q = *q;
	x->type = type;
	x->done = done;
	x->arg = arg;
	x->id = dnsconn_new_id(conn);
	dns_tsig_init(&x->t, key);
	rc = dnsc_query_build(buf, sizeof(buf), &len, x->id, q, type, NULL, &x->t, clock_wall_s());
	if (rc) {
		dns_tsig_fini(&x->t);
		free(x);
		return rc;
	}
	x->next = qs->head;
	qs->head = x;
	rc = dnsconn_request(conn, buf, len, answer, x);
	if (rc) {
		unlink_query(qs, x);
		dns_tsig_fini(&x->t);
		free(x);
	}
	return rc;
}

void dnsquery_cancel(struct dnsquery_set *qs, void *arg)
{
	for (struct dnsquery *x = qs->head; x; x = x->next)
		if (x->arg == arg)
			x->cancelled = true;
}
