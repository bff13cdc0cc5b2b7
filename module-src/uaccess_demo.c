// SPDX-License-Identifier: GPL-2.0
/*
 * uaccess_demo.c - the course's teaching and probe driver.
 *
 * Loading it creates /dev/uaccess_demo (mode 0666). Each ioctl on it makes
 * exactly one call to one of the kernel's user-memory functions - access_ok
 * (with a run-time size, or the constant sizeof(u64)),
 * get_user, put_user, copy_from_user, copy_to_user, clear_user,
 * strnlen_user, strncpy_from_user, get_user_pages_unlocked or
 * pin_user_pages_fast - with the arguments the caller passed, and reports
 * what the kernel returned: the return value, the value read, the kernel
 * buffer after the call, and for GUP the pages' contents, reference counts
 * and pin state. The ABI is in uaccess_demo.h.
 *
 * It serves two masters: the labs, which ask the real kernel the question
 * the simulator (sim/) just answered, and sim's differential tests, which
 * record thousands of such answers to prove the simulator right.
 *
 * The driver itself must never be the thing that fails: it checks its own
 * arguments (buffer sizes, page counts, flags) and answers -EINVAL from the
 * ioctl for a malformed request, before the call under test is made. In
 * particular every kernel buffer is allocated with the length the caller
 * asked for, so hardened usercopy never sees a copy larger than its object.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/miscdevice.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/highmem.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/utsname.h>
#include <asm/cpufeature.h>

#include "uaccess_demo.h"

/*
 * The ABI's FOLL_* values are 6.1's; 6.12 renumbered the kernel's FOLL_*
 * (include/linux/mm_types.h), so translate rather than pass them through.
 */
static int demo_gup_flags(u32 abi_flags, unsigned int *gup_flags)
{
	unsigned int flags = 0;

	if (abi_flags & ~(UACCESS_DEMO_FOLL_WRITE | UACCESS_DEMO_FOLL_LONGTERM))
		return -EINVAL;
	if (abi_flags & UACCESS_DEMO_FOLL_WRITE)
		flags |= FOLL_WRITE;
	if (abi_flags & UACCESS_DEMO_FOLL_LONGTERM)
		flags |= FOLL_LONGTERM;
	*gup_flags = flags;
	return 0;
}

static long demo_info(void __user *argp)
{
	struct uaccess_demo_info info = {
		.task_size_max = TASK_SIZE_MAX,
		.page_size = PAGE_SIZE,
		.cpu_rep_good = boot_cpu_has(X86_FEATURE_REP_GOOD),
		.cpu_erms = boot_cpu_has(X86_FEATURE_ERMS),
		.cpu_fsrm = boot_cpu_has(X86_FEATURE_FSRM),
		.pin_bias = GUP_PIN_COUNTING_BIAS,
	};

	/*
	 * Feature tests on the headers themselves, not on the version number:
	 * valid_user_address() (and with it USER_PTR_MAX) arrived in 6.10, the
	 * FSRS feature bit (which picks clear_user's routine) in 6.9.
	 */
#ifdef valid_user_address
	info.user_ptr_max = USER_PTR_MAX;
#endif
#ifdef X86_FEATURE_FSRS
	info.cpu_fsrs = boot_cpu_has(X86_FEATURE_FSRS);
#endif
	strscpy(info.release, utsname()->release, sizeof(info.release));
	if (copy_to_user(argp, &info, sizeof(info)))
		return -EFAULT;
	return 0;
}

/* get_user()/put_user() pick the access width from the pointer's type. */
static long demo_get_user(struct uaccess_demo_req *req)
{
	void __user *p = (void __user *)(unsigned long)req->uaddr;
	u8 v8;
	u16 v16;
	u32 v32;
	u64 v64;

	switch (req->size) {
	case 1:
		req->ret = get_user(v8, (u8 __user *)p);
		req->value = v8;
		break;
	case 2:
		req->ret = get_user(v16, (u16 __user *)p);
		req->value = v16;
		break;
	case 4:
		req->ret = get_user(v32, (u32 __user *)p);
		req->value = v32;
		break;
	case 8:
		req->ret = get_user(v64, (u64 __user *)p);
		req->value = v64;
		break;
	default:
		return -EINVAL;
	}
	return 0;
}

static long demo_put_user(struct uaccess_demo_req *req)
{
	void __user *p = (void __user *)(unsigned long)req->uaddr;

	switch (req->size) {
	case 1:
		req->ret = put_user((u8)req->value, (u8 __user *)p);
		break;
	case 2:
		req->ret = put_user((u16)req->value, (u16 __user *)p);
		break;
	case 4:
		req->ret = put_user((u32)req->value, (u32 __user *)p);
		break;
	case 8:
		req->ret = put_user((u64)req->value, (u64 __user *)p);
		break;
	default:
		return -EINVAL;
	}
	return 0;
}

/*
 * The calls that use a kernel buffer: the buffer starts as the image the
 * caller passed in req->kbuf and is copied back after the call, so the caller
 * sees exactly which bytes the call wrote (copy_from_user's zero fill,
 * strncpy_from_user's word-at-a-time stores).
 */
static long demo_with_kbuf(unsigned int cmd, struct uaccess_demo_req *req)
{
	void __user *uaddr = (void __user *)(unsigned long)req->uaddr;
	void __user *image = (void __user *)(unsigned long)req->kbuf;
	size_t len = req->kbuf_len;
	long count = (long)req->size;
	char *kbuf;
	long ret = 0;

	if (len > UACCESS_DEMO_KBUF_MAX)
		return -EINVAL;
	if (cmd == UACCESS_DEMO_STRNCPY_FROM_USER) {
		if (count > 0 && count > len)
			return -EINVAL;
	} else if (req->size > len) {
		return -EINVAL;
	}

	kbuf = kvmalloc(len ? len : 1, GFP_KERNEL);
	if (!kbuf)
		return -ENOMEM;
	if (copy_from_user(kbuf, image, len)) {
		ret = -EFAULT;
		goto out_free_kbuf;
	}

	switch (cmd) {
	case UACCESS_DEMO_COPY_FROM_USER:
		req->ret = copy_from_user(kbuf, uaddr, req->size);
		break;
	case UACCESS_DEMO_COPY_TO_USER:
		req->ret = copy_to_user(uaddr, kbuf, req->size);
		break;
	case UACCESS_DEMO_STRNCPY_FROM_USER:
		req->ret = strncpy_from_user(kbuf, uaddr, count);
		break;
	}

	if (copy_to_user(image, kbuf, len))
		ret = -EFAULT;
out_free_kbuf:
	kvfree(kbuf);
	return ret;
}

/* Record what the driver sees of each page it got, then let them go. */
static long demo_gup(unsigned int cmd, struct uaccess_demo_req *req)
{
	struct uaccess_demo_page info[UACCESS_DEMO_MAX_PAGES] = {};
	struct page *pages[UACCESS_DEMO_MAX_PAGES] = {};
	void __user *image = (void __user *)(unsigned long)req->kbuf;
	unsigned long offset = req->uaddr & ~PAGE_MASK;
	char poke[64];
	unsigned int flags;
	long nr, i, ret = 0;

	if (req->size > UACCESS_DEMO_MAX_PAGES || demo_gup_flags(req->gup_flags, &flags))
		return -EINVAL;
	/* Writing into a page that was not taken for writing is a bug: refuse. */
	if (req->poke_len > sizeof(poke) ||
	    (req->poke_len && !(req->gup_flags & UACCESS_DEMO_FOLL_WRITE)))
		return -EINVAL;
	if (req->poke_len && copy_from_user(poke, (void __user *)(unsigned long)req->poke,
					    req->poke_len))
		return -EFAULT;

	if (cmd == UACCESS_DEMO_GUP_UNLOCKED)
		nr = get_user_pages_unlocked(req->uaddr, req->size, pages, flags);
	else
		nr = pin_user_pages_fast(req->uaddr, req->size, flags, pages);
	req->ret = nr;

	for (i = 0; i < nr; i++) {
		struct page *page = pages[i];

		if (i == 0 && req->poke_len) {
			char *kaddr = kmap_local_page(page);
			size_t n = min_t(size_t, req->poke_len, PAGE_SIZE - offset);

			memcpy(kaddr + offset, poke, n);
			kunmap_local(kaddr);
		}
		info[i].refcount_held = page_count(page);
		info[i].pinned = folio_maybe_dma_pinned(page_folio(page));
		info[i].zero_page = page == ZERO_PAGE(0);
		if (ret == 0 && image && req->kbuf_len >= (i + 1) * PAGE_SIZE) {
			char *kaddr = kmap_local_page(page);

			if (copy_to_user(image + i * PAGE_SIZE, kaddr, PAGE_SIZE))
				ret = -EFAULT;
			kunmap_local(kaddr);
		}
	}

	/* Release exactly as a driver must: the way each page was taken. */
	for (i = 0; i < nr; i++) {
		if (cmd == UACCESS_DEMO_GUP_UNLOCKED) {
			if (req->poke_len && i == 0)
				set_page_dirty_lock(pages[i]);
			put_page(pages[i]);
		} else {
			unpin_user_pages_dirty_lock(&pages[i], 1, req->poke_len && i == 0);
		}
		info[i].refcount_after = page_count(pages[i]);
	}

	if (req->pages && nr > 0 &&
	    copy_to_user((void __user *)(unsigned long)req->pages, info, nr * sizeof(info[0])))
		ret = -EFAULT;
	return ret;
}

static long demo_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	void __user *argp = (void __user *)arg;
	struct uaccess_demo_req req;
	long ret;

	if (cmd == UACCESS_DEMO_INFO)
		return demo_info(argp);
	if (_IOC_TYPE(cmd) != UACCESS_DEMO_MAGIC || _IOC_SIZE(cmd) != sizeof(req))
		return -ENOTTY;
	if (copy_from_user(&req, argp, sizeof(req)))
		return -EFAULT;
	if (req.reserved)
		return -EINVAL;

	switch (cmd) {
	case UACCESS_DEMO_ACCESS_OK:
		req.ret = access_ok((void __user *)(unsigned long)req.uaddr, req.size);
		ret = 0;
		break;
	case UACCESS_DEMO_ACCESS_OK_CONST8:
		req.ret = access_ok((void __user *)(unsigned long)req.uaddr, sizeof(u64));
		ret = 0;
		break;
	case UACCESS_DEMO_GET_USER:
		ret = demo_get_user(&req);
		break;
	case UACCESS_DEMO_PUT_USER:
		ret = demo_put_user(&req);
		break;
	case UACCESS_DEMO_CLEAR_USER:
		req.ret = clear_user((void __user *)(unsigned long)req.uaddr, req.size);
		ret = 0;
		break;
	case UACCESS_DEMO_STRNLEN_USER:
		req.ret = strnlen_user((const char __user *)(unsigned long)req.uaddr,
				       (long)req.size);
		ret = 0;
		break;
	case UACCESS_DEMO_COPY_FROM_USER:
	case UACCESS_DEMO_COPY_TO_USER:
	case UACCESS_DEMO_STRNCPY_FROM_USER:
		ret = demo_with_kbuf(cmd, &req);
		break;
	case UACCESS_DEMO_GUP_UNLOCKED:
	case UACCESS_DEMO_PIN_FAST:
		ret = demo_gup(cmd, &req);
		break;
	default:
		return -ENOTTY;
	}
	if (ret)
		return ret;
	if (copy_to_user(argp, &req, sizeof(req)))
		return -EFAULT;
	return 0;
}

static const struct file_operations demo_fops = {
	.owner = THIS_MODULE,
	.unlocked_ioctl = demo_ioctl,
};

/* 0666: the labs' user programs and notebooks run unprivileged in the guest. */
static struct miscdevice demo_dev = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "uaccess_demo",
	.fops = &demo_fops,
	.mode = 0666,
};

static int __init demo_init(void)
{
	int ret = misc_register(&demo_dev);

	if (ret)
		pr_err("cannot register /dev/uaccess_demo: %d\n", ret);
	return ret;
}

static void __exit demo_exit(void)
{
	misc_deregister(&demo_dev);
}

module_init(demo_init);
module_exit(demo_exit);
MODULE_DESCRIPTION("One user-memory access call per ioctl, for teaching and for testing sim");
MODULE_LICENSE("GPL");
