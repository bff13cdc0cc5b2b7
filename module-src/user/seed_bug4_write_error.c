// SPDX-License-Identifier: GPL-2.0
/*
 * seed_bug4_write_error - SEED-BUG 4: write() from an address that is not
 * mapped. The seed driver returns 0, which tells the program "nothing
 * written, try again" (a loop around write() would spin forever). A fixed
 * driver returns -1 with errno EFAULT.
 */
#include "cdev_user.h"

int main(void)
{
	long page = sysconf(_SC_PAGESIZE);
	char *hole = map_pages(1, PROT_READ | PROT_WRITE);
	int fd = open_cdev();
	ssize_t n;

	munmap(hole, page);	/* now nothing is mapped at `hole` */
	n = write(fd, hole, 16);
	printf("write(unmapped address) = %zd%s%s\n", n, n < 0 ? ": " : "",
	       n < 0 ? strerror(errno) : "");
	close(fd);
	return n == -1 && errno == EFAULT ? EXIT_FIXED : EXIT_BUG;
}
