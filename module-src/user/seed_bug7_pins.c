// SPDX-License-Identifier: GPL-2.0
/*
 * seed_bug7_pins - SEED-BUG 7: the driver keeps user pages with plain
 * references (get_user_pages) instead of pins (pin_user_pages).
 *
 * /proc/vmstat counts pins: nr_foll_pin_acquired and nr_foll_pin_released.
 * After write() of a 2-page buffer a pinning driver has 2 more pins in
 * flight; after close() they are released. The seed driver takes none.
 * Other I/O (9p in the guest) takes pins for a moment too, so we compare
 * the smallest of a few samples.
 */
#include "cdev_user.h"

static long pins_in_flight(void)
{
	long best = -1;
	int i;

	for (i = 0; i < 2; i++) {
		long v;

		vmstat_refresh();
		v = vmstat_read("nr_foll_pin_acquired") - vmstat_read("nr_foll_pin_released");

		if (best < 0 || v < best)
			best = v;
	}
	return best;
}

int main(void)
{
	long page = sysconf(_SC_PAGESIZE);
	char *buf = map_pages(2, PROT_READ | PROT_WRITE);
	long before, during, after;
	int fd = open_cdev();

	memset(buf, 'p', 2 * page);
	before = pins_in_flight();
	if (write(fd, buf + page - 8, 16) != 16)	/* 16 bytes across 2 pages */
		setup_fail("write failed: %s", strerror(errno));
	during = pins_in_flight();
	close(fd);
	after = pins_in_flight();
	printf("pins in flight: before %ld, after write %ld, after close %ld\n",
	       before, during, after);
	if (after != before)
		printf("close() left %ld pins behind\n", after - before);
	return during - before == 2 && after == before ? EXIT_FIXED : EXIT_BUG;
}
