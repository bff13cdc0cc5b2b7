// SPDX-License-Identifier: GPL-2.0
/*
 * seed_bug1_read_before_write - SEED-BUG 1: read() before any write().
 *
 * The seed driver dereferences its NULL page array and oopses; the kernel
 * kills this process (exit status 137 from the shell). A fixed driver
 * answers with end of file (0) or an error such as -ENODATA.
 */
#include "cdev_user.h"

int main(void)
{
	char buf[16];
	int fd = open_cdev();
	ssize_t n = read(fd, buf, sizeof(buf));

	printf("read() before write() = %zd%s%s\n", n, n < 0 ? ": " : "",
	       n < 0 ? strerror(errno) : "");
	close(fd);
	return n <= 0 ? EXIT_FIXED : EXIT_BUG;
}
