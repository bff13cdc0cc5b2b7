// SPDX-License-Identifier: GPL-2.0
/*
 * cdev_check - behaviour checks of /dev/cdev/cdev0 with parameters chosen at
 * grading time (so a driver cannot be tuned to fixed numbers):
 *
 *   cdev_check roundtrip LEN OFFSET CHUNK
 *       write LEN bytes starting OFFSET bytes into a page-aligned area,
 *       change every byte, then read in CHUNK-byte pieces until end of file:
 *       exactly the LEN changed bytes must come back.
 *   cdev_check rewrite LEN1 LEN2
 *       write one buffer, then another: reads return the second one.
 *   cdev_check toolarge
 *       a write spanning 6 pages (the driver maps at most 5) must fail
 *       with -1, not return 0 or pretend success.
 *   cdev_check cycles N
 *       N rounds of open, write 2 pages, read, close.
 *
 * Exits 0 when the driver behaves, 1 when it does not (saying how), 2 when
 * the check could not run.
 */
#include "cdev_user.h"

static long page;

static unsigned char pattern(size_t i, unsigned int seed)
{
	return (unsigned char)(i * 31 + seed * 7 + (i >> 8));
}

static int check_roundtrip(size_t len, size_t offset, size_t chunk)
{
	char *area = map_pages(6, PROT_READ | PROT_WRITE);
	char *buf = area + offset;
	static char back[6 * 4096 + 64];
	size_t got = 0, i;
	ssize_t n;
	int fd = open_cdev();

	if (offset + len > (size_t)(6 * page) || chunk == 0 || len > sizeof(back) - 64)
		setup_fail("roundtrip: LEN + OFFSET must fit in 6 pages and CHUNK be > 0");
	for (i = 0; i < len; i++)
		buf[i] = pattern(i, 1);
	n = write(fd, buf, len);
	if (n != (ssize_t)len) {
		printf("write(%zu bytes at page offset %zu) = %zd, expected %zu\n", len, offset % page, n, len);
		return EXIT_BUG;
	}
	for (i = 0; i < len; i++)
		buf[i] = pattern(i, 2);	/* the driver must read our page, not a copy */
	while ((n = read(fd, back + got, chunk)) > 0) {
		got += n;
		if (got > len)
			break;
	}
	close(fd);
	if (n < 0) {
		printf("read failed after %zu bytes: %s\n", got, strerror(errno));
		return EXIT_BUG;
	}
	if (got != len) {
		printf("wrote %zu bytes, reading %zu at a time returned %zu bytes in all\n", len, chunk, got);
		return EXIT_BUG;
	}
	for (i = 0; i < len; i++) {
		if ((unsigned char)back[i] != pattern(i, 2)) {
			printf("byte %zu of %zu read back as 0x%02x, expected the changed 0x%02x%s\n", i, len,
			       (unsigned char)back[i], pattern(i, 2),
			       (unsigned char)back[i] == pattern(i, 1) ? " (that is the old, unchanged byte)" : "");
			return EXIT_BUG;
		}
	}
	printf("roundtrip of %zu bytes at offset %zu in chunks of %zu: OK\n", len, offset, chunk);
	return EXIT_FIXED;
}

static int check_rewrite(size_t len1, size_t len2)
{
	char *a = map_pages(2, PROT_READ | PROT_WRITE);
	char *b = map_pages(2, PROT_READ | PROT_WRITE);
	static char back[2 * 4096];
	ssize_t n;
	int fd = open_cdev();

	if (len1 == 0 || len2 == 0 || len1 > (size_t)page || len2 > (size_t)page)
		setup_fail("rewrite: lengths must be 1..PAGE_SIZE");
	memset(a, 'a', len1);
	memset(b, 'b', len2);
	if (write(fd, a, len1) != (ssize_t)len1 || write(fd, b, len2) != (ssize_t)len2)
		setup_fail("write failed: %s", strerror(errno));
	n = read(fd, back, sizeof(back));
	close(fd);
	if (n != (ssize_t)len2 || memchr(back, 'a', n)) {
		printf("after writing %zu 'a' then %zu 'b', read() = %zd bytes starting \"%.8s\"\n",
		       len1, len2, n, back);
		return EXIT_BUG;
	}
	printf("the second write replaced the first: OK\n");
	return EXIT_FIXED;
}

static int check_toolarge(void)
{
	char *area = map_pages(7, PROT_READ | PROT_WRITE);
	size_t len = 5 * page + 2;
	ssize_t n;
	int fd = open_cdev();

	n = write(fd, area + page - 1, len);	/* touches 7 pages' worth: 6 full spans */
	close(fd);
	printf("write of %zu bytes across 7 pages = %zd%s%s\n", len, n, n < 0 ? ": " : "",
	       n < 0 ? strerror(errno) : "");
	return n == -1 ? EXIT_FIXED : EXIT_BUG;
}

static int check_cycles(long rounds)
{
	char *buf = map_pages(2, PROT_READ | PROT_WRITE);
	char back[64];
	long i;

	memset(buf, 'c', 2 * page);
	for (i = 0; i < rounds; i++) {
		int fd = open_cdev();

		if (write(fd, buf + page - 32, 64) != 64 || read(fd, back, 64) != 64) {
			printf("round %ld: write or read of 64 bytes failed: %s\n", i, strerror(errno));
			close(fd);
			return EXIT_BUG;
		}
		close(fd);
	}
	printf("%ld open/write/read/close rounds: OK\n", rounds);
	return EXIT_FIXED;
}

int main(int argc, char **argv)
{
	page = sysconf(_SC_PAGESIZE);
	if (argc == 5 && !strcmp(argv[1], "roundtrip"))
		return check_roundtrip(strtoul(argv[2], NULL, 0), strtoul(argv[3], NULL, 0),
				       strtoul(argv[4], NULL, 0));
	if (argc == 4 && !strcmp(argv[1], "rewrite"))
		return check_rewrite(strtoul(argv[2], NULL, 0), strtoul(argv[3], NULL, 0));
	if (argc == 2 && !strcmp(argv[1], "toolarge"))
		return check_toolarge();
	if (argc == 3 && !strcmp(argv[1], "cycles"))
		return check_cycles(strtol(argv[2], NULL, 0));
	fprintf(stderr, "usage: cdev_check roundtrip LEN OFFSET CHUNK | rewrite LEN1 LEN2 | toolarge | cycles N\n");
	return EXIT_SETUP;
}
