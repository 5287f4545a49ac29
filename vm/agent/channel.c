// SPDX-License-Identifier: GPL-2.0-only
/*
 * The protocol channel: whole lines out with write(2), so a forked child never inherits buffered
 * text (a sequence's child holds its lines and writes them at once), and lines in, read whole
 * and split into tokens.
 */
#include "agent.h"

/*
 * A sequence's child holds its reply lines and writes them into its answer pipe at once when it
 * ends: a write per line would wake the parent (and, under TCG, switch address spaces) for each of
 * a sequence's lines. A child that dies before flushing is reported FAIL by the parent anyway.
 */
#define HELD_MAX (64 * 1024)

static struct {
	int fd;           /* where lines go: the channel, or a child's answer pipe */
	int holding;      /* lines go into held first */
	struct sbuf held;
} out = { .fd = 1 };

int agent_fd(int fd)
{
	int high = fd < 0 ? -1 : fcntl(fd, F_DUPFD_CLOEXEC, CHANNEL_FD_MIN);

	if (fd >= 0)
		close(fd);
	return high;
}

void channel_set_out(int fd)
{
	out.fd = fd;
}

int channel_out_fd(void)
{
	return out.fd;
}

static void sb_grow(struct sbuf *sb, size_t more)
{
	if (sb->len + more + 1 <= sb->cap)
		return;
	sb->cap = (sb->len + more + 1) * 2;
	sb->p = realloc(sb->p, sb->cap);
	if (!sb->p)
		_exit(3);
}

void sb_add(struct sbuf *sb, const char *s, size_t len)
{
	sb_grow(sb, len);
	memcpy(sb->p + sb->len, s, len);
	sb->len += len;
	sb->p[sb->len] = 0;
}

static void sb_vprintf(struct sbuf *sb, const char *fmt, va_list ap)
{
	va_list again;
	int n;

	va_copy(again, ap);
	n = vsnprintf(NULL, 0, fmt, ap);
	sb_grow(sb, (size_t)n);
	vsnprintf(sb->p + sb->len, (size_t)n + 1, fmt, again);
	va_end(again);
	sb->len += (size_t)n;
}

void sb_printf(struct sbuf *sb, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sb_vprintf(sb, fmt, ap);
	va_end(ap);
}

/* The host is gone when the line cannot be written: nothing left to answer to. */
void write_all(const char *p, size_t len)
{
	while (len) {
		ssize_t n = write(out.fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			_exit(1);
		p += n;
		len -= (size_t)n;
	}
}

void channel_hold(void)
{
	out.holding = 1;
}

void channel_flush_held(void)
{
	if (out.held.len)
		write_all(out.held.p, out.held.len);
	out.held.len = 0;
}

void sb_send(struct sbuf *sb)
{
	sb_add(sb, "\n", 1);
	if (out.holding) {
		sb_add(&out.held, sb->p, sb->len);
		if (out.held.len >= HELD_MAX)
			channel_flush_held();
	} else {
		write_all(sb->p, sb->len);
	}
	free(sb->p);
	*sb = (struct sbuf){ 0 };
}

void reply(const char *fmt, ...)
{
	struct sbuf sb = { 0 };
	va_list ap;

	va_start(ap, fmt);
	sb_vprintf(&sb, fmt, ap);
	va_end(ap);
	sb_send(&sb);
}

/* ---- input ---- */

int line_waiting(const struct lineio *in)
{
	return memchr(in->buf, '\n', in->len) != NULL;
}

/* Moves the buffered line that ends at nl into out. */
static int take_line(struct lineio *in, char *nl, char *out_line)
{
	size_t len = (size_t)(nl - in->buf);
	int overlong = in->overlong;

	memcpy(out_line, in->buf, len);
	out_line[len] = 0;
	if (len && out_line[len - 1] == '\r')
		out_line[len - 1] = 0;
	memmove(in->buf, nl + 1, in->len - len - 1);
	in->len -= len + 1;
	in->overlong = 0;
	return overlong ? LINE_TOO_LONG : LINE_OK;
}

int read_line(struct lineio *in, char *out_line)
{
	for (;;) {
		char *nl = memchr(in->buf, '\n', in->len);
		ssize_t n;

		if (nl)
			return take_line(in, nl, out_line);
		if (in->len == sizeof(in->buf)) {
			in->overlong = 1;
			in->len = 0;
		}
		n = read(in->fd, in->buf + in->len, sizeof(in->buf) - in->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return LINE_ERROR;
		if (n == 0)
			return LINE_EOF;
		in->len += (size_t)n;
	}
}

int tokenize(char *line, char **tok)
{
	int n = 0;
	char *save, *t;

	for (t = strtok_r(line, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
		if (n == MAX_TOKENS)
			return -1;
		tok[n++] = t;
	}
	return n;
}
