// SPDX-License-Identifier: GPL-2.0
/*
 * seed_bug8_readonly_buffer - SEED-BUG 8: write() from a read-only buffer.
 *
 * write() only reads the caller's buffer, so a read-only buffer (here a
 * string constant, which lives in a read-only mapping of the program) must
 * work. The seed driver asks GUP for write access (FOLL_WRITE), GUP
 * refuses, and write() returns 0.
 */
#include "cdev_user.h"

static const char message[] = "a constant string in .rodata";

int main(void)
{
	char back[sizeof(message)] = { 0 };
	int fd = open_cdev();
	ssize_t n = write(fd, message, sizeof(message));

	printf("write(read-only buffer) = %zd%s%s\n", n, n < 0 ? ": " : "",
	       n < 0 ? strerror(errno) : "");
	if (n == (ssize_t)sizeof(message) &&
	    read(fd, back, sizeof(back)) == (ssize_t)sizeof(back) &&
	    strcmp(back, message) == 0) {
		printf("read it back: \"%s\"\n", back);
		close(fd);
		return EXIT_FIXED;
	}
	close(fd);
	return EXIT_BUG;
}
