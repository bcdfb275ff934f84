/* SSH connections: TCP connect, handshake, host key check, key auth.
 * Everything runs non-blocking with poll(), so the connect timeout and
 * the cancel flag work at every step. */
#include "provision/ssh.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/err.h"
#include "lib/fence.h"
#include "lib/fileutil.h"
#include "lib/resolve.h"
#include "provision/ssh_priv.h"

#define CONNECT_TIMEOUT_MS 10000
#define WAIT_SLICE_MS 100 /* how often a wait looks at *cancel */

int64_t ssh_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool ssh_cancelled(const struct ssh_conn *c)
{
	/* Set by another thread: an atomic read, not just a volatile one. */
	return c->cancel && __atomic_load_n(c->cancel, __ATOMIC_RELAXED);
}

int ssh_wait(struct ssh_conn *c, int64_t deadline)
{
	struct pollfd pfd = { .fd = c->fd };
	int dir = libssh2_session_block_directions(c->session);
	int64_t left = deadline - ssh_now_ms();

	if (ssh_cancelled(c))
		return -ECANCELED;
	if (left <= 0)
		return -ETIMEDOUT;
	if (dir & LIBSSH2_SESSION_BLOCK_INBOUND)
		pfd.events |= POLLIN;
	if (dir & LIBSSH2_SESSION_BLOCK_OUTBOUND)
		pfd.events |= POLLOUT;
	if (!pfd.events)
		pfd.events = POLLIN;
	if (poll(&pfd, 1, (int)(left < WAIT_SLICE_MS ? left : WAIT_SLICE_MS)) < 0 &&
	    errno != EINTR)
		return -errno;
	return ssh_cancelled(c) ? -ECANCELED : 0;
}

const char *ssh_lower(const char *msg, char *buf, size_t len)
{
	snprintf(buf, len, "%s", msg);
	if (buf[0] && isupper((unsigned char)buf[0]) &&
	    !(buf[1] && isupper((unsigned char)buf[1])))
		buf[0] = (char)tolower((unsigned char)buf[0]);
	return buf;
}

static const char *errtext(int e, char *buf, size_t len)
{
	return ssh_lower(strerror(e < 0 ? -e : e), buf, len);
}

static int errno_of(int rc)
{
	switch (rc) {
	case LIBSSH2_ERROR_SOCKET_DISCONNECT:
	case LIBSSH2_ERROR_SOCKET_SEND:
	case LIBSSH2_ERROR_SOCKET_RECV:
	case LIBSSH2_ERROR_BANNER_RECV:
	case LIBSSH2_ERROR_BANNER_SEND:
	case LIBSSH2_ERROR_BAD_SOCKET:
		return ECONNRESET;
	case LIBSSH2_ERROR_TIMEOUT:
	case LIBSSH2_ERROR_SOCKET_TIMEOUT:
		return ETIMEDOUT;
	case LIBSSH2_ERROR_PUBLICKEY_UNVERIFIED:
	case LIBSSH2_ERROR_PUBLICKEY_UNRECOGNIZED:
		return EACCES;
	case LIBSSH2_ERROR_FILE:
	case LIBSSH2_ERROR_METHOD_NOT_SUPPORTED:
		return EINVAL;
	case LIBSSH2_ERROR_ALLOC:
		return ENOMEM;
	case LIBSSH2_ERROR_KEX_FAILURE:
	case LIBSSH2_ERROR_METHOD_NONE:
	case LIBSSH2_ERROR_HOSTKEY_INIT:
	case LIBSSH2_ERROR_HOSTKEY_SIGN:
	case LIBSSH2_ERROR_DECRYPT:
	case LIBSSH2_ERROR_PROTO:
	case LIBSSH2_ERROR_INVALID_MAC:
	case LIBSSH2_ERROR_KEY_EXCHANGE_FAILURE:
	case LIBSSH2_ERROR_ENCRYPT:
		return EPROTO;
	case LIBSSH2_ERROR_CHANNEL_OUTOFORDER:
	case LIBSSH2_ERROR_CHANNEL_FAILURE:
	case LIBSSH2_ERROR_CHANNEL_REQUEST_DENIED:
	case LIBSSH2_ERROR_CHANNEL_UNKNOWN:
	case LIBSSH2_ERROR_CHANNEL_WINDOW_EXCEEDED:
	case LIBSSH2_ERROR_CHANNEL_PACKET_EXCEEDED:
	case LIBSSH2_ERROR_CHANNEL_CLOSED:
	case LIBSSH2_ERROR_CHANNEL_EOF_SENT:
		return EIO;
	default:
		return EIO;
	}
}

int ssh_error(struct ssh_conn *c, int rc, char *err, const char *fmt, ...)
{
	char what[ERR_MAX], text[256];
	char *msg = NULL;
	int e = errno_of(rc);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (e == ECONNRESET)
		c->broken = true;
	if (c->session)
		libssh2_session_last_error(c->session, &msg, NULL, 0);
	if (msg && msg[0]) {
		ssh_lower(msg, text, sizeof(text));
	} else {
		errtext(e, text, sizeof(text));
	}
	return error_set(err, e, "%.300s: %s", what, text);
}

void ssh_log(struct ssh_conn *c, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	if (!c->log_fn)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	c->log_fn(c->log_arg, line);
}

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_rc;

static void init_libssh2(void)
{
	init_rc = libssh2_init(0);
}

int ssh_lib_init(char *err)
{
	pthread_once(&init_once, init_libssh2);
	return init_rc ? error_set(err, EIO, "cannot initialise libssh2") : 0;
}

/* Connect one address, non-blocking, until deadline or cancel. */
static int tcp_connect_one(struct ssh_conn *c, const struct addrinfo *ai,
			   int64_t deadline)
{
	int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
			ai->ai_protocol);
	int one = 1, soerr = 0;
	socklen_t sl = sizeof(soerr);

	if (fd < 0)
		return -errno;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		if (errno != EINPROGRESS) {
			int e = errno;
			close(fd);
			return -e;
		}
		for (;;) {
			struct pollfd pfd = { .fd = fd, .events = POLLOUT };
			int64_t left = deadline - ssh_now_ms();
			int n;

			if (ssh_cancelled(c) || left <= 0) {
				close(fd);
				return ssh_cancelled(c) ? -ECANCELED : -ETIMEDOUT;
			}
			n = poll(&pfd, 1, (int)(left < WAIT_SLICE_MS ? left : WAIT_SLICE_MS));
			if (n > 0)
				break;
			if (n < 0 && errno != EINTR) {
				int e = errno;
				close(fd);
				return -e;
			}
		}
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
			soerr = errno;
		if (soerr) {
			close(fd);
			return -soerr;
		}
	}
	/* Channel set-up is a ping-pong of small packets: no Nagle delays. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	/* A command may stay silent for minutes (a package install): TCP
	 * keepalives hold NAT mappings open and notice a dead host after
	 * about two minutes. (libssh2's own keepalive could leave a packet
	 * half sent in the middle of another call.) */
	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &(int){ 60 }, sizeof(int));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &(int){ 15 }, sizeof(int));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &(int){ 4 }, sizeof(int));
	c->fd = fd;
	return 0;
}

static int tcp_connect(struct ssh_conn *c, const struct ssh_target *t,
		       int timeout_ms, int64_t deadline, char *err)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC,
				  .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_NUMERICSERV };
	struct addrinfo *res = NULL, *ai;
	char port[16], text[128];
	int ret = -EHOSTUNREACH;
	int64_t left = deadline - ssh_now_ms();

	snprintf(port, sizeof(port), "%d", t->port);
	/* The lookup too is bounded by the connect timeout and obeys cancel. */
	ret = resolve(t->host, port, &hints, &res, left > 0 ? (int)left : 1, c->cancel, err);
	if (ret)
		return ret;
	ret = -EHOSTUNREACH;
	for (ai = res; ai; ai = ai->ai_next) {
		ret = tcp_connect_one(c, ai, deadline);
		if (!ret || ret == -ECANCELED || ret == -ETIMEDOUT)
			break;
	}
	freeaddrinfo(res);
	if (ret == -ECANCELED)
		return error_set(err, ECANCELED, "connection to '%s' cancelled",
				 c->peer);
	if (ret == -ETIMEDOUT)
		return error_set(err, ETIMEDOUT,
				 "cannot reach '%s': no answer within %d ms",
				 c->peer, timeout_ms);
	if (ret)
		return error_set(err, -ret, "cannot reach '%s': %s", c->peer,
				 errtext(ret, text, sizeof(text)));
	return 0;
}

/* Wait for libssh2 while it answers EAGAIN; turn timeout and cancel into
 * messages about what. */
static int wait_or_fail(struct ssh_conn *c, int64_t deadline, int timeout_ms,
			const char *what, char *err)
{
	int ret = ssh_wait(c, deadline);

	if (ret == -ECANCELED)
		return error_set(err, ECANCELED, "%s '%s' cancelled", what,
				 c->peer);
	if (ret == -ETIMEDOUT)
		return error_set(err, ETIMEDOUT,
				 "%s '%s' timed out after %d ms", what, c->peer,
				 timeout_ms);
	if (ret) {
		char text[128];
		return error_set(err, -ret, "%s '%s': %s", what, c->peer,
				 errtext(ret, text, sizeof(text)));
	}
	return 0;
}

/* Big-endian length-prefixed string at *p; false past end. */
static bool get_string(const unsigned char **p, const unsigned char *end,
		       const unsigned char **s, uint32_t *len)
{
	if (end - *p < 4)
		return false;
	*len = (uint32_t)(*p)[0] << 24 | (uint32_t)(*p)[1] << 16 |
	       (uint32_t)(*p)[2] << 8 | (*p)[3];
	*p += 4;
	if ((uint32_t)(end - *p) < *len)
		return false;
	*s = *p;
	*p += *len;
	return true;
}

/* The key type of a private key file, for messages: "ssh-rsa",
 * "ssh-ed25519"... or "" when unknown. OpenSSH format: base64 of
 * "openssh-key-v1\0", cipher, kdf, kdf options, key count, then the
 * first public key, which starts with its type name. */
static void key_type(const char *path, char *buf, size_t len)
{
	static const char magic[] = "openssh-key-v1";
	struct strbuf sb = STRBUF_INIT, b64 = STRBUF_INIT, raw = STRBUF_INIT;
	const char *begin, *stop;

	buf[0] = '\0';
	if (read_file(path, &sb, NULL))
		goto out;
	if (strstr(strbuf_str(&sb), "BEGIN RSA PRIVATE KEY")) {
		snprintf(buf, len, "ssh-rsa");
		goto out;
	}
	begin = strstr(strbuf_str(&sb), "BEGIN OPENSSH PRIVATE KEY-----");
	stop = begin ? strstr(begin, "-----END") : NULL;
	if (!stop)
		goto out;
	for (const char *p = begin + 30; p < stop; p++)
		if (!isspace((unsigned char)*p))
			strbuf_addch(&b64, *p);
	if (ssh_base64_decode(strbuf_str(&b64), &raw) == 0 &&
	    raw.len > sizeof(magic) && !memcmp(raw.buf, magic, sizeof(magic))) {
		const unsigned char *p = (const unsigned char *)raw.buf + sizeof(magic);
		const unsigned char *end = (const unsigned char *)raw.buf + raw.len;
		const unsigned char *s, *pub;
		uint32_t n, publen;

		if (get_string(&p, end, &s, &n) && get_string(&p, end, &s, &n) &&
		    get_string(&p, end, &s, &n) && end - p >= 4 &&
		    (p += 4, get_string(&p, end, &pub, &publen)) &&
		    get_string(&pub, pub + publen, &s, &n))
			snprintf(buf, len, "%.*s", (int)n, (const char *)s);
	}
out:
	/* Private key material: wiped, not just freed. */
	if (sb.buf)
		explicit_bzero(sb.buf, sb.len);
	if (b64.buf)
		explicit_bzero(b64.buf, b64.len);
	if (raw.buf)
		explicit_bzero(raw.buf, raw.len);
	strbuf_release(&sb);
	strbuf_release(&b64);
	strbuf_release(&raw);
}

static int authenticate(struct ssh_conn *c, const struct ssh_target *t,
			int64_t deadline, int timeout_ms, char *err)
{
	struct stat st;
	int rc;

	while ((rc = libssh2_userauth_publickey_fromfile_ex(
			c->session, t->user, (unsigned)strlen(t->user), NULL,
			t->key_path, NULL)) == LIBSSH2_ERROR_EAGAIN) {
		int ret = wait_or_fail(c, deadline, timeout_ms,
				       "ssh authentication on", err);
		if (ret)
			return ret;
	}
	if (!rc)
		return 0;
	if (rc == LIBSSH2_ERROR_AUTHENTICATION_FAILED ||
	    rc == LIBSSH2_ERROR_PUBLICKEY_UNVERIFIED) {
		char type[32];
		key_type(t->key_path, type, sizeof(type));
		if (!strcmp(type, "ssh-rsa"))
			return error_set(err, EACCES,
					 "ssh key '%s' refused for user '%s' on '%s' "
					 "(an RSA key: libssh2 1.10 signs with ssh-rsa/SHA-1, "
					 "which OpenSSH 8.8 and later refuse unless "
					 "PubkeyAcceptedAlgorithms has +ssh-rsa; an ed25519 key works)",
					 t->key_path, t->user, c->peer);
		return error_set(err, EACCES,
				 "ssh key '%s' refused for user '%s' on '%s'",
				 t->key_path, t->user, c->peer);
	}
	if (stat(t->key_path, &st) == 0 && rc == LIBSSH2_ERROR_FILE)
		return ssh_error(c, rc, err, "cannot use ssh key '%s'", t->key_path);
	return ssh_error(c, rc, err, "ssh authentication of '%s' on '%s'",
			 t->user, c->peer);
}

static int check_target(const struct ssh_target *t, char *err)
{
	if (!t->host || !t->host[0])
		return error_set(err, EINVAL, "ssh target has no host");
	if (t->port <= 0 || t->port > 65535)
		return error_set(err, EINVAL, "ssh port '%d' of '%s' is not valid",
				 t->port, t->host);
	if (!t->user || !t->user[0])
		return error_set(err, EINVAL, "ssh target '%s' has no user", t->host);
	if (!t->key_path || !t->key_path[0])
		return error_set(err, EINVAL, "ssh target '%s' has no key", t->host);
	if (!t->known_hosts || !t->known_hosts[0])
		return error_set(err, EINVAL,
				 "ssh target '%s' has no known_hosts file", t->host);
	int fenced = fence_check(t->key_path, err);
	if (fenced)
		return fenced;
	if (access(t->key_path, R_OK) < 0) {
		char text[128];
		int e = errno;
		return error_set(err, e, "cannot read ssh key '%s': %s",
				 t->key_path, errtext(e, text, sizeof(text)));
	}
	return 0;
}

int ssh_connect(const struct ssh_target *t, struct ssh_conn **out, char *err)
{
	int timeout_ms = t->connect_timeout_ms > 0 ? t->connect_timeout_ms
						   : CONNECT_TIMEOUT_MS;
	int64_t deadline = ssh_now_ms() + timeout_ms;
	struct ssh_conn *c;
	int ret, rc;

	*out = NULL;
	ret = check_target(t, err);
	if (ret)
		return ret;
	ret = ssh_lib_init(err);
	if (ret)
		return ret;
	c = calloc(1, sizeof(*c));
	if (!c)
		return error_set(err, ENOMEM, "out of memory");
	c->fd = -1;
	c->cancel = t->cancel;
	c->log_fn = t->log_fn;
	c->log_arg = t->log_arg;
	snprintf(c->user, sizeof(c->user), "%s", t->user);
	snprintf(c->peer, sizeof(c->peer),
		 strchr(t->host, ':') ? "[%s]:%d" : "%s:%d", t->host, t->port);
	if (ssh_cancelled(c)) {
		ret = error_set(err, ECANCELED, "connection to '%s' cancelled",
				c->peer);
		goto fail;
	}

	ret = tcp_connect(c, t, timeout_ms, deadline, err);
	if (ret)
		goto fail;
	c->session = libssh2_session_init_ex(NULL, NULL, NULL, c);
	if (!c->session) {
		ret = error_set(err, ENOMEM, "cannot start an ssh session");
		goto fail;
	}
	libssh2_session_set_blocking(c->session, 0);
	ret = ssh_hostkey_prefer(c, t, err);
	if (ret)
		goto fail;
	while ((rc = libssh2_session_handshake(c->session, c->fd)) ==
	       LIBSSH2_ERROR_EAGAIN) {
		ret = wait_or_fail(c, deadline, timeout_ms, "ssh handshake with",
				   err);
		if (ret)
			goto fail;
	}
	if (rc) {
		ret = ssh_error(c, rc, err, "ssh handshake with '%s'", c->peer);
		goto fail;
	}
	ret = ssh_hostkey_verify(c, t, err);
	if (ret)
		goto fail;
	ret = authenticate(c, t, deadline, timeout_ms, err);
	if (ret)
		goto fail;
	ssh_log(c, "ssh: connected to %s@%s", c->user, c->peer);
	*out = c;
	return 0;
fail:
	ssh_close(c);
	return ret;
}

void ssh_close(struct ssh_conn *c)
{
	if (!c)
		return;
	if (c->session) {
		int64_t deadline = ssh_now_ms() + 1000;
		volatile int *cancel = c->cancel;

		c->cancel = NULL; /* a cancelled operation still closes */
		if (!c->broken && c->fd >= 0)
			while (libssh2_session_disconnect(c->session, "bye") ==
				       LIBSSH2_ERROR_EAGAIN &&
			       ssh_wait(c, deadline) == 0)
				;
		/* With the socket shut, libssh2 no longer waits for the
		 * server to close channels (a timed-out command's). */
		if (c->fd >= 0)
			shutdown(c->fd, SHUT_RDWR);
		deadline = ssh_now_ms() + 1000;
		while (libssh2_session_free(c->session) == LIBSSH2_ERROR_EAGAIN)
			if (ssh_now_ms() > deadline)
				break; /* leak rather than hang */
		c->cancel = cancel;
	}
	if (c->fd >= 0)
		close(c->fd);
	free(c);
}
