/*
 * `autotunnel portmap`: map one port on the gateway with the agent's own
 * client (src/pmclient + lib/portmap) and say what happened.
 *
 * Output, one "key value" line each (stable; docs/portmap.md):
 *   protocol PCP | NAT-PMP | UPnP IGD | none
 *   gateway 192.168.1.1
 *   internal 192.168.1.2:4500
 *   external 203.0.113.10:4500
 *   lifetime 7200
 *   network public                      (nothing answered, RFC 6281 §4.1)
 * and, while --keep holds the mapping:
 *   renewed external A:P lifetime S
 *   changed external A:P was A:P
 *   gateway-reset                       (its epoch shows it lost its mappings)
 *   recreated external A:P lifetime S
 *   lost external A:P
 *   deleted external A:P
 * --json prints one JSON object per event instead.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "agent/ctl.h"
#include "autotunnel/cmd.h"
#include "common/log.h"
#include "pmclient/pmclient.h"

/* every --json object starts with its schema version (docs/autotunnel.1), as the agent's do */
#define JSON_HEAD "{\"schema\":1,"
_Static_assert(AGENT_CTL_JSON_SCHEMA == 1, "JSON_HEAD spells the schema version");

struct run {
	struct event_base *base;
	struct pmclient *pmc;
	bool keep, json;
	uint8_t ipproto;
	uint16_t port;
	int status;
	bool finished;		/* a result is in: exit (without --keep) */
	bool stopping;
	struct event *ev_int, *ev_term, *ev_deadline;
};

void cmd_portmap_usage(void)
{
	printf("usage: autotunnel portmap (--udp PORT | --tcp PORT) [options]\n"
	       "\n"
	       "Map PORT on the gateway: PCP first, then NAT-PMP, then UPnP IGD; print which\n"
	       "protocol worked, the external address and port and the lifetime. If nothing\n"
	       "answers, the network is treated as public (RFC 6281 §4.1) and that is printed.\n"
	       "Without --keep the mapping is made and left to live out its lifetime; with\n"
	       "--keep it is renewed at half its lifetime, changes are printed, and it is\n"
	       "deleted on SIGINT or SIGTERM.\n"
	       "\n"
	       "  --udp PORT, --tcp PORT   the internal port to map\n"
	       "  --external PORT          the external port to ask for (default: the same)\n"
	       "  --lifetime S             lifetime to ask for, seconds (default %u)\n"
	       "  --keep                   hold the mapping until SIGINT/SIGTERM, then delete it\n"
	       "  --gateway ADDR           the gateway (default: the IPv4 default route's)\n"
	       "  --protocol LIST          pcp,natpmp,upnp: the protocols to try (default all)\n"
	       "  --tries N                attempts on port 5351 before giving up (default %u:\n"
	       "                           RFC 6886, 250 ms doubling, given up after 127.75 s)\n"
	       "  --upnp-wait MS           UPnP IGD discovery wait (default %u)\n"
	       "  --json                   one JSON object per event\n"
	       "  -v, --verbose            say what is tried; -vv: every packet, with times\n",
	       PORTMAP_DEFAULT_LIFETIME, PORTMAP_DEFAULT_TRIES, PMCLIENT_DEFAULT_UPNP_WAIT_MS);
}

static const char *addrport(struct in_addr a, uint16_t port, char *buf, size_t len)
{
	char s[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &a, s, sizeof(s));
	snprintf(buf, len, "%s:%u", s, port);
	return buf;
}

static void print_mapped(struct run *r, const struct portmap_note *n, const char *event)
{
	char gw[INET_ADDRSTRLEN], in[32], ext[32];

	inet_ntop(AF_INET, &(struct in_addr){ pmclient_gateway(r->pmc).s_addr }, gw, sizeof(gw));
	addrport(pmclient_local(r->pmc), r->port, in, sizeof(in));
	addrport(n->ext_addr, n->ext_port, ext, sizeof(ext));
	if (r->json) {
		printf(JSON_HEAD "\"event\":\"%s\",\"protocol\":\"%s\",\"gateway\":\"%s\",\"internal\":\"%s\","
		       "\"transport\":\"%s\",\"external\":\"%s\",\"lifetime\":%u}\n",
		       event, portmap_proto_str(n->proto), gw, in,
		       r->ipproto == PCP_PROTO_TCP ? "tcp" : "udp", ext, n->lifetime);
		return;
	}
	if (strcmp(event, "mapped") == 0) {
		printf("protocol %s\ngateway %s\ninternal %s\nexternal %s\nlifetime %u\n",
		       portmap_proto_str(n->proto), gw, in, ext, n->lifetime);
	} else {
		printf("%s external %s lifetime %u\n", event, ext, n->lifetime);
	}
}

static void print_simple(struct run *r, const char *event, const struct portmap_note *n,
			 bool with_addr)
{
	char ext[32];

	addrport(n->ext_addr, n->ext_port, ext, sizeof(ext));
	if (r->json) {
		if (with_addr)
			printf(JSON_HEAD "\"event\":\"%s\",\"protocol\":\"%s\",\"external\":\"%s\"}\n", event,
			       portmap_proto_str(n->proto), ext);
		else
			printf(JSON_HEAD "\"event\":\"%s\"}\n", event);
	} else if (with_addr) {
		printf("%s external %s\n", event, ext);
	} else {
		printf("%s\n", event);
	}
}

/* RFC 1918 and RFC 6598 (carrier-grade NAT) space */
static bool is_private(struct in_addr a)
{
	uint32_t h = ntohl(a.s_addr);

	return (h >> 24) == 10 || (h >> 20) == 0xac1 || (h >> 16) == 0xc0a8 ||
	       (h >> 22) == (0x64400000u >> 22);
}

static void finish(struct run *r, int status)
{
	r->status = status;
	r->finished = true;
	if (!r->keep)
		event_base_loopbreak(r->base);
}

static void on_note(void *arg, struct pmclient *pmc, const struct portmap_note *n)
{
	struct run *r = arg;
	char ext[32], old[32];

	switch (n->kind) {
	case PORTMAP_NOTE_MAPPED:
		print_mapped(r, n, "mapped");
		if (is_private(n->ext_addr)) {
			char a[INET_ADDRSTRLEN];

			/* RFC 6281 §4.4.1: the gateway is itself behind a NAT */
			inet_ntop(AF_INET, &n->ext_addr, a, sizeof(a));
			log_warnx("the gateway's external address %s is private: another NAT is "
				  "upstream (double NAT), so this mapping does not reach the Internet", a);
		}
		finish(r, CMD_OK);
		break;
	case PORTMAP_NOTE_RENEWED:
		print_mapped(r, n, "renewed");
		break;
	case PORTMAP_NOTE_RECREATED:
		print_mapped(r, n, "recreated");
		break;
	case PORTMAP_NOTE_CHANGED:
		addrport(n->ext_addr, n->ext_port, ext, sizeof(ext));
		addrport(n->old_addr, n->old_port, old, sizeof(old));
		if (r->json)
			printf(JSON_HEAD "\"event\":\"changed\",\"protocol\":\"%s\",\"external\":\"%s\","
			       "\"previous\":\"%s\",\"lifetime\":%u}\n",
			       portmap_proto_str(n->proto), ext, old, n->lifetime);
		else
			printf("changed external %s was %s\n", ext, old);
		break;
	case PORTMAP_NOTE_GATEWAY_RESET:
		log_info("the gateway's epoch shows it lost its mappings: re-creating them");
		print_simple(r, "gateway-reset", n, false);
		break;
	case PORTMAP_NOTE_LOST:
		log_warnx("the mapping expired unrenewed: the gateway stopped answering");
		print_simple(r, "lost", n, true);
		break;
	case PORTMAP_NOTE_DELETED:
		print_simple(r, "deleted", n, true);
		break;
	case PORTMAP_NOTE_FALLBACK:
		if (n->from == PORTMAP_PROTO_NONE)
			log_info("trying %s", portmap_proto_str(n->proto));
		else
			log_info("%s: no mapping; trying %s", portmap_proto_str(n->from),
				 portmap_proto_str(n->proto));
		break;
	case PORTMAP_NOTE_REFUSED:
		log_warnx("%s refused the mapping: %s (%u)", portmap_proto_str(n->proto),
			  portmap_result_str(n->proto, n->result), n->result);
		break;
	case PORTMAP_NOTE_PUBLIC:
		log_info("no PCP, NAT-PMP or UPnP IGD gateway answered: treating the network as "
			 "public (RFC 6281 section 4.1)");
		if (r->json)
			printf(JSON_HEAD "\"event\":\"public\",\"protocol\":\"none\",\"network\":\"public\"}\n");
		else
			printf("protocol none\nnetwork public\n");
		finish(r, CMD_OK);
		break;
	case PORTMAP_NOTE_FAILED:
		if (r->json)
			printf(JSON_HEAD "\"event\":\"failed\",\"protocol\":\"%s\",\"result\":\"%s\",\"code\":%u}\n",
			       portmap_proto_str(n->proto), portmap_result_str(n->proto, n->result),
			       n->result);
		else
			printf("protocol none\nrefused %s %s\n", portmap_proto_str(n->proto),
			       portmap_result_str(n->proto, n->result));
		finish(r, CMD_FAIL);
		break;
	}
	fflush(stdout);
}

static void on_stopped(void *arg)
{
	struct run *r = arg;

	event_base_loopbreak(r->base);
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct run *r = arg;

	log_warnx("deleting took too long; exiting");
	event_base_loopbreak(r->base);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct run *r = arg;
	struct timeval tv = { 10, 0 };

	if (r->stopping) {
		event_base_loopbreak(r->base);	/* a second signal: now */
		return;
	}
	r->stopping = true;
	log_info("signal %d: deleting the mapping", (int)sig);
	/* RFC 6886 §3.4: delete what we hold; bounded by the delete retries */
	event_add(r->ev_deadline, &tv);
	pmclient_stop(r->pmc, on_stopped, r);
}

static int parse_port(const char *s, uint16_t *out)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);

	if (!*s || *end || v < 1 || v > 65535)
		return -EINVAL;
	*out = (uint16_t)v;
	return 0;
}

static int parse_uint(const char *s, unsigned long max, unsigned long *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (!*s || *end || errno || v > max || s[0] == '-')
		return -EINVAL;
	*out = v;
	return 0;
}

static int parse_protocols(const char *s, unsigned int *mask)
{
	char buf[64], *tok, *save = NULL;

	if (strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	*mask = 0;
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (strcasecmp(tok, "pcp") == 0)
			*mask |= PORTMAP_PROTO_PCP;
		else if (strcasecmp(tok, "natpmp") == 0 || strcasecmp(tok, "nat-pmp") == 0)
			*mask |= PORTMAP_PROTO_NATPMP;
		else if (strcasecmp(tok, "upnp") == 0)
			*mask |= PORTMAP_PROTO_UPNP;
		else
			return -EINVAL;
	}
	return *mask ? 0 : -EINVAL;
}

int cmd_portmap(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "udp", required_argument, NULL, 'u' },
		{ "tcp", required_argument, NULL, 't' },
		{ "external", required_argument, NULL, 'e' },
		{ "lifetime", required_argument, NULL, 'l' },
		{ "keep", no_argument, NULL, 'k' },
		{ "gateway", required_argument, NULL, 'g' },
		{ "protocol", required_argument, NULL, 'p' },
		{ "tries", required_argument, NULL, 'n' },
		{ "upnp-wait", required_argument, NULL, 'w' },
		{ "json", no_argument, NULL, 'j' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct pmclient_config cfg;
	struct run r = { .status = CMD_FAIL };
	uint16_t external = 0;
	unsigned long v;
	int c, verbose = 0, err;

	pmclient_config_default(&cfg);
	optind = 1;
	while ((c = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
		switch (c) {
		case 'u':
		case 't':
			if (r.port || parse_port(optarg, &r.port) < 0)
				goto bad;
			r.ipproto = c == 'u' ? PCP_PROTO_UDP : PCP_PROTO_TCP;
			break;
		case 'e':
			if (parse_port(optarg, &external) < 0)
				goto bad;
			break;
		case 'l':
			if (parse_uint(optarg, UINT32_MAX, &v) < 0 || v == 0)
				goto bad;
			cfg.pm.lifetime = (uint32_t)v;
			break;
		case 'k':
			r.keep = true;
			break;
		case 'g':
			if (inet_pton(AF_INET, optarg, &cfg.gateway) != 1 || !cfg.gateway.s_addr)
				goto bad;
			break;
		case 'p':
			if (parse_protocols(optarg, &cfg.pm.protocols) < 0)
				goto bad;
			break;
		case 'n':
			if (parse_uint(optarg, 16, &v) < 0 || v == 0)
				goto bad;
			cfg.pm.tries = (unsigned int)v;
			break;
		case 'w':
			if (parse_uint(optarg, 60000, &v) < 0)
				goto bad;
			cfg.upnp_wait_ms = (unsigned int)v;
			break;
		case 'j':
			r.json = true;
			break;
		case 'v':
			verbose++;
			break;
		case 'h':
			cmd_portmap_usage();
			return CMD_OK;
		default:
			goto usage;
		}
	}
	if (optind != argc || !r.port)
		goto usage;
	log_setlevel(verbose >= 2 ? LOG_LEVEL_DEBUG : verbose ? LOG_LEVEL_INFO : LOG_LEVEL_WARN);
	setvbuf(stdout, NULL, _IOLBF, 0);

	r.base = event_base_new();
	if (!r.base)
		fatalx("cannot make an event loop");
	r.pmc = pmclient_new(r.base, &cfg, on_note, &r);
	if (!r.pmc)
		fatal("portmap client");
	err = pmclient_add(r.pmc, r.ipproto, r.port, external ? external : r.port);
	if (err < 0)
		fatalx("cannot add the mapping: %s", strerror(-err));
	r.ev_int = evsignal_new(r.base, SIGINT, on_signal, &r);
	r.ev_term = evsignal_new(r.base, SIGTERM, on_signal, &r);
	r.ev_deadline = evtimer_new(r.base, on_deadline, &r);
	if (!r.ev_int || !r.ev_term || !r.ev_deadline || event_add(r.ev_int, NULL) < 0 ||
	    event_add(r.ev_term, NULL) < 0)
		fatalx("cannot watch signals");

	err = pmclient_start(r.pmc);
	if (err == -ENETUNREACH) {
		log_warnx("no IPv4 default route and no --gateway: no gateway to ask");
		r.status = CMD_FAIL;
	} else if (err < 0) {
		log_warnx("cannot start: %s", strerror(-err));
		r.status = CMD_FAIL;
	} else if (!r.finished || r.keep) {
		event_base_dispatch(r.base);
	}

	pmclient_free(r.pmc);
	event_free(r.ev_int);
	event_free(r.ev_term);
	event_free(r.ev_deadline);
	event_base_free(r.base);
	return r.status;

bad:
	fprintf(stderr, "autotunnel portmap: bad value '%s'\n", optarg);
	return CMD_USAGE;
usage:
	cmd_portmap_usage();
	return CMD_USAGE;
}
