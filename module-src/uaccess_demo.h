/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * uaccess_demo.h - the ioctl ABI of /dev/uaccess_demo (uaccess_demo.ko).
 *
 * One ioctl performs exactly one user-memory access call in the kernel, with
 * the arguments given here, and reports what the kernel returned. The same
 * header is included by the module, by the C user programs in user/, and is
 * mirrored field for field by Python (sim's differential tests and the labs
 * use ctypes with the same layout: every field is a fixed-width integer,
 * naturally aligned, no implicit padding).
 *
 * Failures *of the call under test* are reported in .ret (e.g. -EFAULT, or the
 * number of bytes not copied), while the ioctl itself returns 0. The ioctl
 * fails (-1 with errno) only when the request is malformed, e.g. a length
 * larger than UACCESS_DEMO_KBUF_MAX or an unknown GUP flag.
 */
#ifndef UACCESS_DEMO_H
#define UACCESS_DEMO_H

#include <linux/types.h>
#include <linux/ioctl.h>

#define UACCESS_DEMO_DEVICE "/dev/uaccess_demo"

/* Largest kernel buffer a request may use (copy_*_user, strncpy_from_user). */
#define UACCESS_DEMO_KBUF_MAX (128 * 1024)
/* Largest nr_pages for the GUP requests. */
#define UACCESS_DEMO_MAX_PAGES 16

/*
 * GUP flags as passed in this ABI. They are the 6.1 kernel's FOLL_* values;
 * the module translates them, because 6.12 renumbered FOLL_* (mm_types.h).
 */
#define UACCESS_DEMO_FOLL_WRITE    0x01
#define UACCESS_DEMO_FOLL_LONGTERM 0x10000

/* What the driver saw of one page returned by a GUP call. */
struct uaccess_demo_page {
	__u64 refcount_held;	/* page_count() while the driver held the page */
	__u64 refcount_after;	/* page_count() after the driver released it */
	__u32 pinned;		/* folio_maybe_dma_pinned() while held */
	__u32 zero_page;	/* 1: this is the shared zero page */
};

struct uaccess_demo_req {
	__u64 uaddr;		/* the user address under test */
	__u64 size;		/* size (access_ok, get/put_user), n, count or nr_pages */
	__u64 value;		/* put_user: value to store; get_user: value read (out) */
	__s64 ret;		/* out: what the kernel function returned */
	__u64 kbuf;		/* user pointer to the kernel buffer's image (in and out) */
	__u64 kbuf_len;		/* its length; copies and strncpy need n <= kbuf_len */
	__u64 pages;		/* GUP: user pointer to struct uaccess_demo_page[size] (out) */
	__u64 poke;		/* GUP with FOLL_WRITE: bytes to write into the first page */
	__u64 poke_len;		/* ... through kmap_local_page(), at uaddr's page offset */
	__u32 gup_flags;	/* GUP: UACCESS_DEMO_FOLL_* */
	__u32 reserved;		/* must be 0 */
};

/* What the running kernel is: filled by UACCESS_DEMO_INFO. */
struct uaccess_demo_info {
	__u64 task_size_max;	/* TASK_SIZE_MAX: 4-level 0x7ffffffff000 */
	__u64 user_ptr_max;	/* 6.10+: USER_PTR_MAX (access_ok's limit); else 0 */
	__u64 page_size;
	__u32 cpu_rep_good;	/* boot_cpu_has(): these pick the copy/clear routines */
	__u32 cpu_erms;
	__u32 cpu_fsrm;
	__u32 cpu_fsrs;
	__u32 pin_bias;		/* GUP_PIN_COUNTING_BIAS */
	__u32 reserved;
	char release[64];	/* utsname()->release */
};

#define UACCESS_DEMO_MAGIC 'U'
#define UACCESS_DEMO_INFO              _IOR(UACCESS_DEMO_MAGIC, 0, struct uaccess_demo_info)
#define UACCESS_DEMO_ACCESS_OK         _IOWR(UACCESS_DEMO_MAGIC, 1, struct uaccess_demo_req)
#define UACCESS_DEMO_GET_USER          _IOWR(UACCESS_DEMO_MAGIC, 2, struct uaccess_demo_req)
#define UACCESS_DEMO_PUT_USER          _IOWR(UACCESS_DEMO_MAGIC, 3, struct uaccess_demo_req)
#define UACCESS_DEMO_COPY_FROM_USER    _IOWR(UACCESS_DEMO_MAGIC, 4, struct uaccess_demo_req)
#define UACCESS_DEMO_COPY_TO_USER      _IOWR(UACCESS_DEMO_MAGIC, 5, struct uaccess_demo_req)
#define UACCESS_DEMO_CLEAR_USER        _IOWR(UACCESS_DEMO_MAGIC, 6, struct uaccess_demo_req)
#define UACCESS_DEMO_STRNLEN_USER      _IOWR(UACCESS_DEMO_MAGIC, 7, struct uaccess_demo_req)
#define UACCESS_DEMO_STRNCPY_FROM_USER _IOWR(UACCESS_DEMO_MAGIC, 8, struct uaccess_demo_req)
#define UACCESS_DEMO_GUP_UNLOCKED      _IOWR(UACCESS_DEMO_MAGIC, 9, struct uaccess_demo_req)
#define UACCESS_DEMO_PIN_FAST          _IOWR(UACCESS_DEMO_MAGIC, 10, struct uaccess_demo_req)
/* access_ok(uaddr, sizeof(u64)): a size the compiler knows (6.12 checks only uaddr then) */
#define UACCESS_DEMO_ACCESS_OK_CONST8  _IOWR(UACCESS_DEMO_MAGIC, 11, struct uaccess_demo_req)

#endif /* UACCESS_DEMO_H */
