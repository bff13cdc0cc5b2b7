// SPDX-License-Identifier: GPL-2.0
/*
 * seed_bug2_unbounded_read - SEED-BUG 2: read() is not bounded by what
 * write() mapped.
 *
 * We write a 16-byte buffer that sits at the end of a page, then ask for
 * two pages. The seed driver copies 8192 bytes starting at our buffer: the
 * bytes after our 16 come from whatever physical page follows ours, which
 * is someone else's memory. A fixed driver returns at most 16 bytes.
 */
#include "cdev_user.h"

#define WANT 8192

int main(void)
{
	long page = sysconf(_SC_PAGESIZE);
	char *area = map_pages(1, PROT_READ | PROT_WRITE);
	char *buf = area + page - 16;	/* the last 16 bytes of the page */
	static char back[WANT];
	int fd = open_cdev();
	ssize_t n;

	memset(buf, 'A', 16);
	n = write(fd, buf, 16);
	if (n != 16)
		setup_fail("write returned %zd, expected 16", n);
	n = read(fd, back, WANT);
	printf("wrote 16 bytes, asked to read %d, read() = %zd\n", WANT, n);
	close(fd);
	if (n > 16) {
		printf("%zd bytes came from kernel memory beyond the buffer\n", n - 16);
		return EXIT_BUG;
	}
	return EXIT_FIXED;
}
