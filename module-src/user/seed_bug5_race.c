// SPDX-License-Identifier: GPL-2.0
/*
 * seed_bug5_race - SEED-BUG 5: no locking between read() and write().
 *
 * One thread keeps writing one of two buffers: X (at offset 0 of its page,
 * filled with 'X') or Y (at offset 2048 of its page, filled with 'Y'). The
 * other thread keeps reading 16 bytes. Each read must return 16 'X' or 16
 * 'Y'. Without a lock, read() can pair one write's page with the other's
 * offset and return bytes from neither buffer ('x' or 'y' filler).
 *
 * A race is a matter of luck: exit 1 means a torn read was seen; exit 0
 * means none was seen in the time given, which does not prove there is
 * no race. Both buffers are written over and over, so with the seed
 * driver this also leaks pages (SEED-BUG 3).
 */
#include <pthread.h>
#include <time.h>
#include "cdev_user.h"

#define SECONDS 1

static int fd;
static char *buf_x, *buf_y;
static volatile int stop;

static void *writer(void *arg)
{
	unsigned long i;

	for (i = 0; !stop; i++)
		if (write(fd, i & 1 ? buf_y : buf_x, 16) != 16)
			break;
	return arg;
}

int main(void)
{
	char *page_x = map_pages(1, PROT_READ | PROT_WRITE);
	char *page_y = map_pages(1, PROT_READ | PROT_WRITE);
	long reads = 0, torn = 0;
	time_t end = time(NULL) + SECONDS;
	pthread_t thread;
	char back[16];

	memset(page_x, 'x', 4096);
	memset(page_y, 'y', 4096);
	buf_x = page_x;
	buf_y = page_y + 2048;
	memset(buf_x, 'X', 16);
	memset(buf_y, 'Y', 16);

	fd = open_cdev();
	if (write(fd, buf_x, 16) != 16)
		setup_fail("first write failed: %s", strerror(errno));
	if (pthread_create(&thread, NULL, writer, NULL))
		setup_fail("pthread_create failed");
	while (time(NULL) < end) {
		if (pread(fd, back, 16, 0) != 16)
			continue;
		reads++;
		if (memcmp(back, buf_x, 16) && memcmp(back, buf_y, 16))
			torn++;
	}
	stop = 1;
	pthread_join(thread, NULL);
	close(fd);
	printf("%ld reads, %ld torn\n", reads, torn);
	return torn ? EXIT_BUG : EXIT_FIXED;
}
