// SPDX-License-Identifier: GPL-2.0-only
/*
 * Kernel coverage (PROTOCOL.md "Coverage"): a kernel built with `mprog kernel build --coverage`
 * has gcov counters in its attach code, which kernel/gcov/fs.c shows in debugfs. GCOV_RESET
 * zeroes them all; GCOV_DUMP sends every .gcda there in base64 lines, for the host's gcov.
 */
#include "agent.h"

#include <dirent.h>
#include <sys/mount.h>
#include <sys/stat.h>

#define DEBUGFS_DIR "/sys/kernel/debug"
#define GCOV_DIR DEBUGFS_DIR "/gcov"
/* Bytes per `=` line: 4 base64 characters per 3, well inside LINE_MAX_LEN. */
#define GCDA_CHUNK 2040

/* debugfs mounted if it is not yet (a guest's init mounts none); 0 when the gcov directory is there. */
static int gcov_available(char *why, size_t len)
{
	struct stat st;

	if (stat(GCOV_DIR, &st) == 0)
		return 0;
	if (mount("debugfs", DEBUGFS_DIR, "debugfs", 0, NULL) < 0 && errno != EBUSY) {
		snprintf(why, len, "unsupported: mounting debugfs on " DEBUGFS_DIR ": %s", strerror(errno));
		return -1;
	}
	if (stat(GCOV_DIR, &st) < 0) {
		snprintf(why, len, "unsupported: no " GCOV_DIR " (not a coverage kernel: no CONFIG_GCOV_KERNEL)");
		return -1;
	}
	return 0;
}

/* The whole of a debugfs file (its size is known only once read: gcov makes it on open); NULL on failure. */
static char *read_whole(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t cap = 65536;
	char *buf = fd < 0 ? NULL : malloc(cap);

	*len = 0;
	while (buf) {
		ssize_t n = read(fd, buf + *len, cap - *len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n < 0) {
				free(buf);
				buf = NULL;
			}
			break;
		}
		*len += (size_t)n;
		if (*len == cap) {
			char *bigger = realloc(buf, cap *= 2);

			if (!bigger)
				free(buf);
			buf = bigger;
		}
	}
	if (fd >= 0)
		close(fd);
	return buf;
}

static void send_base64(const unsigned char *p, size_t len)
{
	static const char digits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	struct sbuf sb = { 0 };

	for (size_t at = 0; at < len; at += GCDA_CHUNK) {
		size_t end = at + GCDA_CHUNK < len ? at + GCDA_CHUNK : len;

		sb_add(&sb, "= ", 2);
		for (size_t i = at; i < end; i += 3) {
			uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < end ? (uint32_t)p[i + 1] << 8 : 0) | (i + 2 < end ? p[i + 2] : 0);
			char q[4] = { digits[v >> 18], digits[(v >> 12) & 63], i + 1 < end ? digits[(v >> 6) & 63] : '=', i + 2 < end ? digits[v & 63] : '=' };

			sb_add(&sb, q, 4);
		}
		sb_send(&sb);
	}
	free(sb.p);
}

struct dump {
	int files;
	size_t bytes;
	char error[PATH_MAX + 128];
};

/* Every .gcda below dir (rel: its path below GCOV_DIR), as GCDA lines; the .gcno links beside them are the host's already. */
static void dump_dir(const char *dir, const char *rel, struct dump *d)
{
	DIR *dp = opendir(dir);
	struct dirent *e;

	if (!dp) {
		snprintf(d->error, sizeof(d->error), "gcov: %s: %s", dir, strerror(errno));
		return;
	}
	while (!d->error[0] && (e = readdir(dp))) {
		char path[PATH_MAX], sub[PATH_MAX];
		size_t nlen = strlen(e->d_name), len;
		char *data;

		/* Not every dot: the object tree is `<tree>/.mprog-obj`. */
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		snprintf(sub, sizeof(sub), "%s%s%s", rel, rel[0] ? "/" : "", e->d_name);
		if (e->d_type == DT_DIR) {
			dump_dir(path, sub, d);
		} else if (e->d_type == DT_REG && nlen > 5 && !strcmp(e->d_name + nlen - 5, ".gcda")) {
			data = read_whole(path, &len);
			if (!data) {
				snprintf(d->error, sizeof(d->error), "gcov: reading %s: %s", path, strerror(errno));
				break;
			}
			reply("GCDA %s %zu", sub, len);
			send_base64((const unsigned char *)data, len);
			free(data);
			d->files++;
			d->bytes += len;
		}
	}
	closedir(dp);
}

void gcov_reset(void)
{
	char why[256];
	int fd;

	if (gcov_available(why, sizeof(why)) < 0) {
		reply("FAIL %s", why);
		return;
	}
	fd = open(GCOV_DIR "/reset", O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, "1", 1) != 1)
		reply("FAIL gcov: writing " GCOV_DIR "/reset: %s", strerror(errno));
	else
		reply("GCOV_RESET ok");
	if (fd >= 0)
		close(fd);
}

void gcov_dump(void)
{
	struct dump d = { 0 };

	if (gcov_available(d.error, sizeof(d.error)) == 0)
		dump_dir(GCOV_DIR, "", &d);
	if (d.error[0])
		reply("FAIL %s", d.error);
	else
		reply("GCOV_DUMP %d %zu", d.files, d.bytes);
}
