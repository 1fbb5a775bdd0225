/* The CLI's side of the control socket (see ctlclient.h). */
#include "autotunnel/ctlclient.h"

#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "autotunnel/cmd.h"
#include "common/clock.h"

const char *ctl_socket_path(const char *opt)
{
	const char *env = getenv(CTL_SOCKET_ENV);

	if (opt && *opt)
		return opt;
	return env && *env ? env : AGENT_CTL_SOCKET;
}

static int wait_fd(int fd, short ev, uint64_t deadline)
{
	struct pollfd p = { .fd = fd, .events = ev };
	uint64_t now = clock_now_ms();
	int n;

	if (now >= deadline)
		return -ETIMEDOUT;
	n = poll(&p, 1, (int)(deadline - now));
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	return n == 0 ? -ETIMEDOUT : 0;
}

static int read_all(int fd, uint8_t *buf, size_t len, uint64_t deadline)
{
	size_t got = 0;
	int ret;

	while (got < len) {
		ssize_t n = recv(fd, buf + got, len - got, MSG_DONTWAIT);

		if (n > 0) {
			got += (size_t)n;
			continue;
		}
		if (n == 0)
			return -ECONNRESET;
		if (errno != EAGAIN && errno != EINTR)
			return -errno;
		if ((ret = wait_fd(fd, POLLIN, deadline)))
			return ret;
	}
	return 0;
}

int ctl_call(const char *path, const uint8_t *req, size_t len, struct agent_ctl_msg *reply,
	     unsigned timeout_ms)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	uint64_t deadline = clock_now_ms() + timeout_ms;
	static uint8_t frame[AGENT_CTL_FRAME_MAX];
	size_t total, off = 0;
	int fd, ret;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "autotunnel: socket path %s is too long\n", path);
		return -ENAMETOOLONG;
	}
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		ret = -errno;
		if (ret == -ENOENT || ret == -ECONNREFUSED)
			fprintf(stderr, "autotunnel: the agent is not running (nothing listens on %s)\n", path);
		else if (ret == -EACCES || ret == -EPERM)
			fprintf(stderr, "autotunnel: permission denied: the agent's socket %s is for root "
				"(try sudo)\n", path);
		else
			fprintf(stderr, "autotunnel: cannot reach the agent at %s: %s\n", path, strerror(-ret));
		close(fd);
		return ret;
	}
	while (off < len) {
		ssize_t n = send(fd, req + off, len - off, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n < 0 && errno != EAGAIN && errno != EINTR) {
			ret = -errno;
			goto fail;
		}
		if ((ret = wait_fd(fd, POLLOUT, deadline)))
			goto fail;
	}
	if ((ret = read_all(fd, frame, AGENT_CTL_HDR, deadline)) ||
	    (ret = agent_ctl_frame_size(frame, &total)) ||
	    (ret = read_all(fd, frame + AGENT_CTL_HDR, total - AGENT_CTL_HDR, deadline)) ||
	    (ret = agent_ctl_parse(reply, frame, total)))
		goto fail;
	close(fd);
	return 0;
fail:
	if (ret == -ETIMEDOUT)
		fprintf(stderr, "autotunnel: the agent did not answer within %u s\n", timeout_ms / 1000);
	else if (ret == -EBADMSG)
		fprintf(stderr, "autotunnel: the agent's answer is malformed (another version?)\n");
	else if (ret == -ECONNRESET)
		fprintf(stderr, "autotunnel: the agent closed the connection without answering\n");
	else
		fprintf(stderr, "autotunnel: talking to the agent: %s\n", strerror(-ret));
	close(fd);
	return ret;
}

/* Local time as the person reading knows it (TZ, /etc/localtime): "server lost since 14:03:27" */
static long local_utc_offset(int64_t unix_s)
{
	time_t t = (time_t)unix_s;
	struct tm tm;

	return localtime_r(&t, &tm) ? tm.tm_gmtoff : 0;
}

int ctl_print(const struct agent_ctl_msg *reply, bool json)
{
	static char out[1 << 20];
	int n = json ? agent_ctl_render_json(reply, out, sizeof(out))
		     : agent_ctl_render_text_tz(reply, local_utc_offset, out, sizeof(out));

	if (n < 0) {
		fprintf(stderr, "autotunnel: cannot show the agent's answer: %s\n", strerror(-n));
		return CMD_FAIL;
	}
	if (reply->code == AGENT_CTL_ERROR && !json) {
		fputs(out, stderr);
		return CMD_FAIL;
	}
	fputs(out, stdout);
	return reply->code == AGENT_CTL_ERROR ? CMD_FAIL : CMD_OK;
}

bool ctl_opts_parse(int argc, char **argv, int operands, void (*usage)(void), const char **sock, bool *json,
		    int *rc)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "socket", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	*sock = NULL;
	*json = false;
	optind = 1;
	while ((c = getopt_long(argc, argv, "hs:", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			*json = true;
			break;
		case 's':
			*sock = optarg;
			break;
		case 'h':
			usage();
			*rc = CMD_OK;
			return false;
		default:
			usage();
			*rc = CMD_USAGE;
			return false;
		}
	}
	if (argc - optind != operands) {
		usage();
		*rc = CMD_USAGE;
		return false;
	}
	return true;
}

int ctl_simple(int argc, char **argv, uint8_t code, void (*usage)(void),
	       int (*verdict)(const struct agent_ctl_msg *reply))
{
	const char *sock;
	bool json;
	uint8_t req[64];
	struct agent_ctl_writer w;
	struct agent_ctl_msg *reply;
	int len, rc;

	if (!ctl_opts_parse(argc, argv, 0, usage, &sock, &json, &rc))
		return rc;
	agent_ctl_write_begin(&w, req, sizeof(req), code);
	if ((len = agent_ctl_write_end(&w)) < 0)
		return CMD_FAIL;
	if (!(reply = agent_ctl_msg_new()))
		return CMD_FAIL;
	rc = ctl_call(ctl_socket_path(sock), req, (size_t)len, reply, 15000) ? CMD_FAIL : ctl_print(reply, json);
	if (rc == CMD_OK && verdict)
		rc = verdict(reply);
	agent_ctl_msg_free(reply);
	return rc;
}
