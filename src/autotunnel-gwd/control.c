#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/event.h>

#include "autotunnel-gwd/control.h"
#include "common/log.h"
#include "wire/wire.h"

#define CONN_TIMEOUT_S 2
#define CONN_MAX 8
#define STATUS_CMD "status\n"
#define UNKNOWN_CMD "error: unknown command (try: status)\n"

struct conn {
	struct gwd_control *c;
	int fd;
	struct event *ev;
	size_t len;
	uint8_t buf[GWD_CONTROL_CMD_MAX];
};

struct gwd_control {
	struct event_base *base;
	int fd;
	struct event *ev;
	char *path;
	gwd_control_status_fn status;
	void *arg;
	struct conn *conns[CONN_MAX];
};

int gwd_control_parse(const void *buf, size_t len, enum gwd_control_cmd *cmd)
{
	struct wire r = wire_reader(buf, len);
	char word[16];
	size_t n = 0;

	while (wire_avail(&r) > 0) {
		uint8_t ch = wire_read_u8(&r);

		if (ch == '\n') {
			word[n] = '\0';
			if (wire_avail(&r) != 0)
				return -EINVAL;	/* one command per connection */
			if (strcmp(word, "status") == 0) {
				*cmd = GWD_CMD_STATUS;
				return 0;
			}
			return -EINVAL;
		}
		if (ch < 'a' || ch > 'z' || n + 1 >= sizeof(word))
			return -EINVAL;
		word[n++] = (char)ch;
	}
	return -EAGAIN;
}

static void conn_free(struct conn *k)
{
	struct gwd_control *c = k->c;

	for (size_t i = 0; i < CONN_MAX; i++)
		if (c->conns[i] == k)
			c->conns[i] = NULL;
	event_free(k->ev);
	close(k->fd);
	free(k);
}

static void write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
	}
}

static void answer(struct conn *k, enum gwd_control_cmd cmd)
{
	char *text = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&text, &len);
	struct timeval tv = { CONN_TIMEOUT_S, 0 };
	int flags;

	if (!fp)
		return;
	if (cmd == GWD_CMD_STATUS && k->c->status(k->c->arg, fp) < 0)
		fprintf(fp, "error: out of memory\n");
	if (fclose(fp) != 0) {
		free(text);
		return;
	}
	/* blocking, with a send timeout: a stuck client cannot stall the daemon long */
	flags = fcntl(k->fd, F_GETFL);
	if (flags >= 0)
		(void)fcntl(k->fd, F_SETFL, flags & ~O_NONBLOCK);
	(void)setsockopt(k->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	write_all(k->fd, text, len);
	free(text);
}

static void on_conn(evutil_socket_t fd, short what, void *arg)
{
	struct conn *k = arg;
	enum gwd_control_cmd cmd;
	ssize_t n;
	int rc;

	if (what & EV_TIMEOUT) {
		conn_free(k);
		return;
	}
	n = recv(fd, k->buf + k->len, sizeof(k->buf) - k->len, 0);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		conn_free(k);
		return;
	}
	k->len += (size_t)n;
	rc = gwd_control_parse(k->buf, k->len, &cmd);
	if (rc == -EAGAIN && k->len < sizeof(k->buf))
		return;
	if (rc == 0)
		answer(k, cmd);
	else
		write_all(k->fd, UNKNOWN_CMD, sizeof(UNKNOWN_CMD) - 1);
	conn_free(k);
}

static bool peer_allowed(int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return false;
	return cred.uid == 0 || cred.uid == geteuid();
}

static void on_accept(evutil_socket_t lfd, short what, void *arg)
{
	struct gwd_control *c = arg;
	struct timeval tv = { CONN_TIMEOUT_S, 0 };
	struct conn *k;
	size_t slot;
	int fd;

	fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return;
	if (!peer_allowed(fd)) {
		log_debug_rl("control: refused a connection from another user");
		close(fd);
		return;
	}
	for (slot = 0; slot < CONN_MAX && c->conns[slot]; slot++)
		;
	k = slot < CONN_MAX ? calloc(1, sizeof(*k)) : NULL;
	if (!k) {
		close(fd);
		return;
	}
	k->c = c;
	k->fd = fd;
	k->ev = event_new(c->base, fd, EV_READ | EV_PERSIST, on_conn, k);
	if (!k->ev || event_add(k->ev, &tv) < 0) {
		if (k->ev)
			event_free(k->ev);
		close(fd);
		free(k);
		return;
	}
	c->conns[slot] = k;
}

static int fill_addr(struct sockaddr_un *sa, const char *path)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	memcpy(sa->sun_path, path, strlen(path) + 1);
	return 0;
}

/* Is a daemon answering on @p sa already? */
static bool alive(const struct sockaddr_un *sa)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool ok;

	if (fd < 0)
		return false;
	ok = connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0;
	close(fd);
	return ok;
}

int gwd_control_open(struct gwd_control **out, struct event_base *base, const char *path,
		     gwd_control_status_fn status, void *arg)
{
	struct gwd_control *c;
	struct sockaddr_un sa;
	struct stat st;
	mode_t old;
	int rc;

	*out = NULL;
	rc = fill_addr(&sa, path);
	if (rc)
		return rc;
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			return -EEXIST;
		if (alive(&sa))
			return -EADDRINUSE;
		unlink(path);
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->base = base;
	c->status = status;
	c->arg = arg;
	c->path = strdup(path);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (!c->path || c->fd < 0)
		goto fail;
	old = umask(0077);	/* root only: the socket file is created 0600 */
	rc = bind(c->fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (rc < 0 || listen(c->fd, 8) < 0)
		goto fail;
	c->ev = event_new(base, c->fd, EV_READ | EV_PERSIST, on_accept, c);
	if (!c->ev || event_add(c->ev, NULL) < 0)
		goto fail;
	*out = c;
	return 0;
fail:
	rc = errno ? -errno : -EIO;
	if (c->ev)
		event_free(c->ev);
	if (c->fd >= 0)
		close(c->fd);
	free(c->path);
	free(c);
	return rc;
}

void gwd_control_close(struct gwd_control *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < CONN_MAX; i++)
		if (c->conns[i])
			conn_free(c->conns[i]);
	event_free(c->ev);
	close(c->fd);
	unlink(c->path);
	free(c->path);
	free(c);
}

int gwd_control_query_status(const char *path, FILE *out)
{
	struct sockaddr_un sa;
	struct timeval tv = { 5, 0 };
	char buf[4096];
	ssize_t n;
	int fd, rc;

	rc = fill_addr(&sa, path);
	if (rc)
		return rc;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	write_all(fd, STATUS_CMD, sizeof(STATUS_CMD) - 1);
	while ((n = recv(fd, buf, sizeof(buf), 0)) > 0)
		fwrite(buf, 1, (size_t)n, out);
	rc = n < 0 ? -errno : 0;
	close(fd);
	return rc;
}
