// SPDX-License-Identifier: GPL-2.0
/*
 * seed_bug9_read_position - SEED-BUG 9: read() ignores the file position
 * and hides faults.
 *
 * After writing 10 bytes, reading 4 at a time must give 4, 4, 2, then 0
 * (end of file). The seed driver returns 4 forever. Reading into an
 * unmapped address must fail with EFAULT; the seed driver returns the
 * short count 0, which looks like end of file.
 */
#include "cdev_user.h"

int main(void)
{
	long page = sysconf(_SC_PAGESIZE);
	char buf[10] = "0123456789";
	char back[4];
	ssize_t got[5];
	char *hole = map_pages(1, PROT_READ | PROT_WRITE);
	int fd = open_cdev(), i, ok = 1;
	ssize_t fault;

	munmap(hole, page);
	if (write(fd, buf, sizeof(buf)) != sizeof(buf))
		setup_fail("write failed: %s", strerror(errno));
	for (i = 0; i < 5; i++)
		got[i] = read(fd, back, sizeof(back));
	printf("reads of 4 after writing 10: %zd %zd %zd %zd %zd (want 4 4 2 0 0)\n",
	       got[0], got[1], got[2], got[3], got[4]);
	ok = got[0] == 4 && got[1] == 4 && got[2] == 2 && got[3] == 0 && got[4] == 0;

	fault = pread(fd, hole, 4, 0);
	printf("read into an unmapped address = %zd%s%s (want -1: Bad address)\n",
	       fault, fault < 0 ? ": " : "", fault < 0 ? strerror(errno) : "");
	ok = ok && fault == -1 && errno == EFAULT;
	close(fd);
	return ok ? EXIT_FIXED : EXIT_BUG;
}
