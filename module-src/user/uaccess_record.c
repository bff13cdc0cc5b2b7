// SPDX-License-Identifier: GPL-2.0
/*
 * uaccess_record - ask the real kernel, through /dev/uaccess_demo, the
 * questions in a scenario file, and write its answers as JSON lines.
 *
 *   uaccess_record < scenarios.txt > truth.jsonl
 *
 * Runs in the guest with uaccess_demo.ko loaded. For each scenario (one
 * line, see below) it lays out a small window of this process's address
 * space page by page - holes, PROT_NONE, read-only, read-write, write-only,
 * touched or never touched, filled with known bytes - makes the one call,
 * then records what the kernel returned and what became of the window.
 * sim's differential test replays the same scenarios on the simulator and
 * needs every answer to agree (tests/differential/).
 *
 * Scenario line, space separated, numbers in C syntax (0x...):
 *   id api base layout uaddr size value gup_flags kbuf_len seed nuls poke
 * api     access_ok access_ok_const8 get_user put_user copy_from_user copy_to_user clear_user
 *         strnlen_user strncpy_from_user gup_unlocked pin_fast
 * layout  one character per page from base:
 *         '-' hole (nothing mapped)      'n' PROT_NONE
 *         'r' read-only, filled          'R' read-only, never touched
 *         'w' read-write, filled         'W' read-write, never touched
 *         'z' read-write, read once (maps the zero page)
 *         'o' PROT_WRITE only, filled
 * nuls    comma-separated addresses set to 0 in filled pages, or '-'
 * poke    hex bytes GUP writes through kmap_local_page(), or '-'
 * A filled page holds fill_byte(seed, page, offset), never 0.
 *
 * Output: first {"info": ...}, then one object per scenario; "skip" when
 * the window could not be laid out here (something else already mapped).
 *
 * It doubles as the labs' client for asking the real kernel one question,
 * e.g. "how much of a 16-byte copy_to_user lands before a read-only page?":
 *
 *   echo "1 copy_to_user 0x100000000 wr- 0x100000ff8 16 0 0 16 7 - -" | ./uaccess_record
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "uaccess_demo.h"

#define PAGE 4096UL
#define MAX_WINDOW 16
#define LINE_MAX_LEN 8192

static unsigned char kbuf[UACCESS_DEMO_KBUF_MAX];
/* TASK_SIZE_MAX of the running kernel (4- or 5-level paging), from UACCESS_DEMO_INFO */
static unsigned long task_size_max;

/* The byte a filled page holds; tests/differential/scenarios.py repeats it. */
static unsigned char fill_byte(unsigned long seed, unsigned long page, unsigned long off)
{
	return (unsigned char)((seed * 7 + page * 7919 + off * 31) % 255 + 1);
}

/* CRC-32 (the one zlib.crc32 computes), to report big buffers compactly. */
static uint32_t crc32(const unsigned char *p, size_t n)
{
	uint32_t crc = 0xffffffffu;

	while (n--) {
		crc ^= *p++;
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0xedb88320u & -(crc & 1));
	}
	return ~crc;
}

static void print_bytes(const char *key, const unsigned char *p, size_t n)
{
	printf(",\"%s\":", key);
	if (n <= 512) {
		printf("\"");
		for (size_t i = 0; i < n; i++)
			printf("%02x", p[i]);
		printf("\"");
	} else {
		printf("{\"len\":%zu,\"crc\":%" PRIu32 "}", n, crc32(p, n));
	}
}

static int prot_of(char c)
{
	switch (c) {
	case 'n': return PROT_NONE;
	case 'r': case 'R': return PROT_READ;
	case 'w': case 'W': case 'z': return PROT_READ | PROT_WRITE;
	case 'o': return PROT_WRITE;
	}
	return -1;
}

static void unmap_window(unsigned long base, size_t npages)
{
	for (size_t p = 0; p < npages; p++)
		munmap((void *)(base + p * PAGE), PAGE);
}

/* Lay out the window; returns NULL or the reason it cannot be done here. */
static const char *map_window(unsigned long base, const char *layout, unsigned long seed,
			      const char *nuls)
{
	size_t npages = strlen(layout);

	for (size_t p = 0; p < npages; p++) {
		unsigned long addr = base + p * PAGE;
		int prot = prot_of(layout[p]);
		void *m;

		if (layout[p] == '-') {
			/* A hole must really be one: probe it, and give it back. */
			m = mmap((void *)addr, PAGE, PROT_NONE,
				 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
			if (m == MAP_FAILED) {
				if (errno == EEXIST)
					return "hole is mapped";
				continue; /* above the top of user space: a hole anyway */
			}
			munmap(m, PAGE);
			continue;
		}
		m = mmap((void *)addr, PAGE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
		if (m == MAP_FAILED || (unsigned long)m != addr)
			return "window is not free";
		if (strchr("rwon", layout[p]) && layout[p] != 'n') {
			unsigned char *b = m;

			for (unsigned long i = 0; i < PAGE; i++)
				b[i] = fill_byte(seed, p, i);
		}
		if (layout[p] == 'R' || layout[p] == 'W' || layout[p] == 'z') {
			/* never touched: drop the page the mmap above may have set up */
			munmap(m, PAGE);
			m = mmap((void *)addr, PAGE, prot,
				 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
			if (m == MAP_FAILED)
				return "window is not free";
			if (layout[p] == 'z')
				(void)*(volatile unsigned char *)m;
		}
	}
	/* NULs go into filled pages only (the generator promises that). */
	if (strcmp(nuls, "-") != 0) {
		char *copy = strdup(nuls), *save = NULL;

		for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
			unsigned long a = strtoull(t, NULL, 0);
			size_t p = (a - base) / PAGE;

			if (a >= base && p < npages && strchr("rwo", layout[p]))
				*(unsigned char *)a = 0;
		}
		free(copy);
	}
	for (size_t p = 0; p < npages; p++) {
		int prot = prot_of(layout[p]);

		if (strchr("rno", layout[p]) &&
		    mprotect((void *)(base + p * PAGE), PAGE, prot))
			return "mprotect failed";
	}
	return NULL;
}

/*
 * The simulator assumes nothing is mapped outside the window. A call aimed
 * outside it must not land in this program's own memory (stack, heap, vdso):
 * skip the scenario if the first pages from uaddr are mapped here.
 */
static const char *check_outside(unsigned long base, size_t npages, unsigned long uaddr)
{
	unsigned long page = uaddr & ~(PAGE - 1);

	for (int i = 0; i < 4; i++, page += PAGE) {
		if (page >= base && page < base + npages * PAGE)
			continue;
		if (page >= task_size_max || page < 0x10000UL)
			continue;
		if (msync((void *)page, PAGE, MS_ASYNC) == 0 || errno != ENOMEM)
			return "uaddr outside the window is mapped";
	}
	return NULL;
}

static const struct {
	const char *name;
	unsigned long cmd;
} apis[] = {
	{ "access_ok", UACCESS_DEMO_ACCESS_OK },
	{ "access_ok_const8", UACCESS_DEMO_ACCESS_OK_CONST8 },
	{ "get_user", UACCESS_DEMO_GET_USER },
	{ "put_user", UACCESS_DEMO_PUT_USER },
	{ "copy_from_user", UACCESS_DEMO_COPY_FROM_USER },
	{ "copy_to_user", UACCESS_DEMO_COPY_TO_USER },
	{ "clear_user", UACCESS_DEMO_CLEAR_USER },
	{ "strnlen_user", UACCESS_DEMO_STRNLEN_USER },
	{ "strncpy_from_user", UACCESS_DEMO_STRNCPY_FROM_USER },
	{ "gup_unlocked", UACCESS_DEMO_GUP_UNLOCKED },
	{ "pin_fast", UACCESS_DEMO_PIN_FAST },
};

static int run_scenario(int fd, char *line)
{
	char api[32], layout[MAX_WINDOW + 2], nuls[LINE_MAX_LEN], poke_hex[256];
	unsigned long long id, base, uaddr, size, value, flags, kbuf_len, seed;
	struct uaccess_demo_page pinfo[UACCESS_DEMO_MAX_PAGES];
	struct uaccess_demo_req req;
	unsigned char poke[64];
	size_t npages, poke_len = 0;
	unsigned long cmd = 0;
	const char *why;
	int rc, err;

	char t_base[32], t_uaddr[32], t_size[32], t_value[32], t_flags[32], t_kbuf[32], t_seed[32];

	/* numbers go through strtoull: sscanf's %lli would clamp u64 values >= 2^63 */
	if (sscanf(line, "%llu %31s %31s %17s %31s %31s %31s %31s %31s %31s %8191s %255s", &id, api,
		   t_base, layout, t_uaddr, t_size, t_value, t_flags, t_kbuf, t_seed, nuls,
		   poke_hex) != 12) {
		fprintf(stderr, "uaccess_record: cannot parse scenario line: %s\n", line);
		return -1;
	}
	base = strtoull(t_base, NULL, 0);
	uaddr = strtoull(t_uaddr, NULL, 0);
	size = strtoull(t_size, NULL, 0);
	value = strtoull(t_value, NULL, 0);
	flags = strtoull(t_flags, NULL, 0);
	kbuf_len = strtoull(t_kbuf, NULL, 0);
	seed = strtoull(t_seed, NULL, 0);
	for (size_t i = 0; i < sizeof(apis) / sizeof(apis[0]); i++)
		if (!strcmp(api, apis[i].name))
			cmd = apis[i].cmd;
	npages = strlen(layout);
	if (!cmd || npages > MAX_WINDOW || kbuf_len > sizeof(kbuf)) {
		fprintf(stderr, "uaccess_record: bad scenario %llu (api %s)\n", id, api);
		return -1;
	}
	if (strcmp(poke_hex, "-") != 0) {
		for (; poke_len < sizeof(poke) && poke_hex[2 * poke_len]; poke_len++)
			sscanf(poke_hex + 2 * poke_len, "%2hhx", &poke[poke_len]);
	}

	why = map_window(base, layout, seed, nuls);
	if (!why)
		why = check_outside(base, npages, uaddr);
	if (why) {
		unmap_window(base, npages);
		printf("{\"id\":%llu,\"skip\":\"%s\"}\n", id, why);
		return 0;
	}

	/* The kernel buffer's image: a pattern to copy out, or a marker to overwrite. */
	for (unsigned long i = 0; i < kbuf_len; i++)
		kbuf[i] = cmd == UACCESS_DEMO_COPY_TO_USER ? (unsigned char)(i * 13 + seed) : 0xa5;
	memset(pinfo, 0, sizeof(pinfo));
	memset(&req, 0, sizeof(req));
	req.uaddr = uaddr;
	req.size = size;
	req.value = value;
	req.gup_flags = flags;
	req.kbuf = (uintptr_t)kbuf;
	req.kbuf_len = kbuf_len;
	req.pages = (uintptr_t)pinfo;
	req.poke = (uintptr_t)poke;
	req.poke_len = poke_len;

	rc = ioctl(fd, cmd, &req);
	err = rc ? errno : 0;

	printf("{\"id\":%llu", id);
	if (err) {
		printf(",\"ioctl_errno\":%d", err);
	} else {
		printf(",\"ret\":%lld", (long long)req.ret);
		if (cmd == UACCESS_DEMO_GET_USER)
			printf(",\"value\":%llu", (unsigned long long)req.value);
		if (kbuf_len && (cmd == UACCESS_DEMO_COPY_FROM_USER ||
				 cmd == UACCESS_DEMO_COPY_TO_USER ||
				 cmd == UACCESS_DEMO_STRNCPY_FROM_USER))
			print_bytes("kbuf", kbuf, kbuf_len);
		if (cmd == UACCESS_DEMO_GUP_UNLOCKED || cmd == UACCESS_DEMO_PIN_FAST) {
			printf(",\"pages\":[");
			for (long long i = 0; i < req.ret; i++)
				printf("%s{\"held\":%llu,\"after\":%llu,\"pinned\":%u,\"zero\":%u,\"crc\":%" PRIu32 "}",
				       i ? "," : "", (unsigned long long)pinfo[i].refcount_held,
				       (unsigned long long)pinfo[i].refcount_after, pinfo[i].pinned,
				       pinfo[i].zero_page,
				       (unsigned long)kbuf_len >= (i + 1) * PAGE ? crc32(kbuf + i * PAGE, PAGE) : 0);
			printf("]");
		}
	}

	/* What became of the window: residency first, since reading maps pages. */
	printf(",\"resident\":\"");
	for (size_t p = 0; p < npages; p++) {
		unsigned char v = 0;

		if (layout[p] == '-' || mincore((void *)(base + p * PAGE), PAGE, &v))
			putchar('-');
		else
			putchar(v & 1 ? '1' : '0');
	}
	printf("\",\"user\":[");
	for (size_t p = 0; p < npages; p++) {
		void *a = (void *)(base + p * PAGE);

		if (layout[p] == '-' || layout[p] == 'n') {
			printf("%snull", p ? "," : "");
			continue;
		}
		if (layout[p] == 'o')
			mprotect(a, PAGE, PROT_READ | PROT_WRITE);
		printf("%s%" PRIu32, p ? "," : "", crc32(a, PAGE));
	}
	printf("]}\n");
	unmap_window(base, npages);
	return 0;
}

int main(void)
{
	static char line[LINE_MAX_LEN * 2];
	struct uaccess_demo_info info;
	int fd = open(UACCESS_DEMO_DEVICE, O_RDWR);

	if (fd < 0) {
		perror("uaccess_record: open " UACCESS_DEMO_DEVICE " (is uaccess_demo.ko loaded?)");
		return 1;
	}
	if (ioctl(fd, UACCESS_DEMO_INFO, &info)) {
		perror("uaccess_record: UACCESS_DEMO_INFO");
		return 1;
	}
	task_size_max = info.task_size_max;
	printf("{\"info\":{\"release\":\"%s\",\"task_size_max\":%llu,\"user_ptr_max\":%llu,"
	       "\"page_size\":%llu,\"rep_good\":%u,\"erms\":%u,\"fsrm\":%u,\"fsrs\":%u,"
	       "\"pin_bias\":%u}}\n",
	       info.release, (unsigned long long)info.task_size_max,
	       (unsigned long long)info.user_ptr_max, (unsigned long long)info.page_size,
	       info.cpu_rep_good, info.cpu_erms, info.cpu_fsrm, info.cpu_fsrs, info.pin_bias);
	while (fgets(line, sizeof(line), stdin)) {
		if (line[0] == '#' || line[0] == '\n')
			continue;
		if (run_scenario(fd, line))
			return 1;
		fflush(stdout);
	}
	return 0;
}
