// SPDX-License-Identifier: GPL-2.0
/*
 * seed_bug3_second_write_leak - SEED-BUG 3: a second write() on the same
 * file drops the page array of the first, so those pages are never put.
 *
 * Each round maps a fresh 4-page buffer, writes it twice and unmaps it.
 * With the seed driver the first write's page references leak, so the
 * pages stay allocated after munmap() and close(): free memory drops by
 * about ROUNDS * 4 pages. A fixed driver releases them, and free memory
 * comes back. Run as root in the guest, where little else allocates.
 */
#include "cdev_user.h"

#define ROUNDS 256
#define PAGES 4

int main(void)
{
	long page = sysconf(_SC_PAGESIZE);
	long before, after, lost, expected = ROUNDS * PAGES;
	int fd, i;

	before = vmstat("nr_free_pages");
	fd = open_cdev();
	for (i = 0; i < ROUNDS; i++) {
		char *buf = map_pages(PAGES, PROT_READ | PROT_WRITE);

		memset(buf, 'a' + i % 26, PAGES * page);	/* fault the pages in */
		if (write(fd, buf, PAGES * page) != PAGES * page ||
		    write(fd, buf, 1) != 1)
			setup_fail("write failed: %s", strerror(errno));
		munmap(buf, PAGES * page);
	}
	close(fd);
	after = vmstat("nr_free_pages");
	lost = before - after;
	printf("%d rounds of two writes: %ld pages not freed (a full leak is %ld)\n",
	       ROUNDS, lost, expected);
	return lost >= expected / 2 ? EXIT_BUG : EXIT_FIXED;
}
