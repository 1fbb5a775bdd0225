#include <stdlib.h>

#include "autotunnel-gwd/rsip_status.h"
#include "autotunnel-gwd/status.h"
#include "rsip/msg.h"

static const char *kind_name(uint8_t k)
{
	switch (k) {
	case RSIP_BIND_RSA_IP: return "RSA-IP";
	case RSIP_BIND_RSAP_IP: return "RSAP-IP";
	case RSIP_BIND_RSIPSEC: return "RSIPSEC";
	case RSIP_BIND_LISTEN: return "LISTEN";
	}
	return "?";
}

struct row {
	const struct rsip_binding *b;
	const struct rsip_client_rec *c;
};

static int by_client(const void *x, const void *y)
{
	const struct row *a = x, *b = y;

	if (a->c->peer.addr != b->c->peer.addr)
		return a->c->peer.addr < b->c->peer.addr ? -1 : 1;
	if (a->b->bind_id != b->b->bind_id)
		return a->b->bind_id < b->b->bind_id ? -1 : 1;
	return 0;
}

void gwd_rsip_status_format(FILE *fp, const struct rsip_server *s, uint32_t nb,
			    const struct gwd_rsip_counters *c, size_t udp_ports, uint64_t now)
{
	const struct rsip_server_stats *st = &s->stats;
	struct row *rows = NULL;
	size_t n = 0;
	char a[16];

	gwd_addr_str(nb, a, sizeof(a));
	fprintf(fp, "rsip: public address %s, %u client%s, %u binding%s, %zu UDP port%s open\n", a,
		s->n_clients, s->n_clients == 1 ? "" : "s", s->n_binds, s->n_binds == 1 ? "" : "s",
		udp_ports, udp_ports == 1 ? "" : "s");
	if (s->n_binds)
		rows = calloc(s->n_binds, sizeof(*rows));
	for (unsigned i = 0; rows && i < s->cfg.max_bindings && n < s->n_binds; i++) {
		if (!s->binds[i].used)
			continue;
		rows[n].b = &s->binds[i];
		rows[n].c = &s->clients[s->binds[i].client];
		n++;
	}
	if (n)
		qsort(rows, n, sizeof(*rows), by_client);
	for (size_t i = 0; i < n; i++) {
		const struct rsip_binding *b = rows[i].b;
		uint64_t left = b->expires > now ? (b->expires - now + 999) / 1000 : 0;

		gwd_addr_str(rows[i].c->peer.addr, a, sizeof(a));
		fprintf(fp, "rsip binding 0x%08x client %s:%u %s", b->bind_id, a, rows[i].c->peer.port,
			kind_name(b->kind));
		for (unsigned k = 0; k < b->n_spis; k++)
			fprintf(fp, "%s0x%08x", k ? "," : " spi ", b->spis[k]);
		for (unsigned k = 0; k < b->n_ports; k++)
			fprintf(fp, "%s%u", k ? "," : " ports ", b->ports[k]);
		fprintf(fp, " expires in %llu s\n", (unsigned long long)left);
	}
	free(rows);
	fprintf(fp, "rsip inbound: %llu packets, %llu tunnelled, %llu without binding, %llu malformed, "
		"%llu ttl exceeded\n",
		(unsigned long long)c->in, (unsigned long long)c->in_tunnelled,
		(unsigned long long)c->in_no_binding, (unsigned long long)c->in_malformed,
		(unsigned long long)c->in_ttl);
	fprintf(fp, "rsip outbound: %llu packets, %llu sent, %llu refused, %llu ike collisions, "
		"%llu malformed, %llu ttl exceeded, %llu send errors\n",
		(unsigned long long)c->out, (unsigned long long)c->out_sent,
		(unsigned long long)c->out_refused, (unsigned long long)c->out_ike_collision,
		(unsigned long long)c->out_malformed, (unsigned long long)c->out_ttl,
		(unsigned long long)c->send_errors);
	fprintf(fp, "rsip demux: esp/ah %llu hits %llu misses, ike %llu hits %llu misses, "
		"%llu ike claims\n",
		(unsigned long long)st->esp_hits, (unsigned long long)st->esp_misses,
		(unsigned long long)st->ike_hits, (unsigned long long)st->ike_misses,
		(unsigned long long)st->ike_claims);
	fprintf(fp, "rsip server: %llu requests, %llu errors", (unsigned long long)st->requests,
		(unsigned long long)st->errors);
	if (st->errors)
		fprintf(fp, " (last %u %s)", st->last_error,
			rsip_error_name(st->last_error) ? rsip_error_name(st->last_error) : "?");
	fprintf(fp, ", %llu bindings granted, %llu freed, %llu expired\n",
		(unsigned long long)st->bindings_granted, (unsigned long long)st->bindings_freed,
		(unsigned long long)st->bindings_expired);
}
