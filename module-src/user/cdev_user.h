/* SPDX-License-Identifier: GPL-2.0 */
/*
 * cdev_user.h - helpers shared by the user programs that exercise
 * /dev/cdev/cdev0. Each seed_bugN program exits with:
 *   0  the driver behaves correctly (the defect is fixed),
 *   1  the defect was observed,
 *   2  the test could not run (no device, out of memory, ...).
 */
#ifndef CDEV_USER_H
#define CDEV_USER_H

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define CDEV_PATH "/dev/cdev/cdev0"
#define EXIT_FIXED 0
#define EXIT_BUG 1
#define EXIT_SETUP 2

static inline void setup_fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("setup failed: ", stderr);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(EXIT_SETUP);
}

static inline int open_cdev(void)
{
	int fd = open(CDEV_PATH, O_RDWR);

	if (fd < 0)
		setup_fail("open %s: %s (is cdev.ko loaded?)", CDEV_PATH, strerror(errno));
	return fd;
}

/* An anonymous mapping of `pages` pages with protection `prot`. */
static inline char *map_pages(size_t pages, int prot)
{
	long page = sysconf(_SC_PAGESIZE);
	void *p = mmap(NULL, pages * page, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		setup_fail("mmap: %s", strerror(errno));
	return p;
}

/* Fold the per-CPU vmstat deltas into /proc/vmstat (slow under emulation). */
static inline void vmstat_refresh(void)
{
	int fd = open("/proc/sys/vm/stat_refresh", O_WRONLY);

	if (fd >= 0) {
		if (write(fd, "1", 1) < 0)
			perror("stat_refresh");
		close(fd);
	}
}

/* One counter from /proc/vmstat as it stands (call vmstat_refresh() first). */
static inline long vmstat_read(const char *name)
{
	char key[64];
	long value;
	FILE *f = fopen("/proc/vmstat", "r");

	if (!f)
		setup_fail("open /proc/vmstat: %s", strerror(errno));
	while (fscanf(f, "%63s %ld", key, &value) == 2) {
		if (strcmp(key, name) == 0) {
			fclose(f);
			return value;
		}
	}
	fclose(f);
	setup_fail("/proc/vmstat has no %s", name);
	return -1;
}

/* One counter from /proc/vmstat, after folding the per-CPU deltas in. */
static inline long vmstat(const char *name)
{
	vmstat_refresh();
	return vmstat_read(name);
}

#endif /* CDEV_USER_H */
