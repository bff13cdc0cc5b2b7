// SPDX-License-Identifier: GPL-2.0
/*
 * cdev_roundtrip - the article's scenario: write a buffer to /dev/cdev/cdev0,
 * change the buffer, read it back. Because write() mapped the buffer's page
 * rather than copying it, read() returns the *changed* bytes.
 *
 * Prints what it wrote, what it changed and what came back; exits 0 when
 * the changed bytes came back, 1 when the original (or other) bytes did.
 */
#include "cdev_user.h"

int main(void)
{
	char buf[64] = "hello from user space";
	char back[64] = { 0 };
	size_t len = strlen(buf) + 1;
	int fd = open_cdev();
	ssize_t n;

	n = write(fd, buf, len);
	printf("write(\"%s\") = %zd\n", buf, n);
	if (n != (ssize_t)len)
		setup_fail("write returned %zd, expected %zu", n, len);

	memcpy(buf, "HELLO", 5);	/* change the buffer after write() returned */
	printf("changed buffer to \"%s\"\n", buf);

	n = read(fd, back, len);
	printf("read() = %zd: \"%s\"\n", n, back);
	close(fd);

	if (n == (ssize_t)len && strcmp(back, buf) == 0) {
		printf("the kernel read the changed buffer: it maps our page\n");
		return 0;
	}
	printf("read returned other bytes than the changed buffer\n");
	return 1;
}
