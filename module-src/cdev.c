// SPDX-License-Identifier: GPL-2.0
/*
 * cdev.c - the character device from the article "User Space Memory Access
 * From The Linux Kernel", written for uaccess-lab.
 *
 * Loading it creates /dev/cdev/cdev0 (mode 0666).
 *
 *  - write(fd, buf, n) does not copy buf: it maps the caller's pages into the
 *    kernel with get_user_pages_unlocked() and keeps them.
 *  - read(fd, buf, n) copies from the first kept page with copy_to_user().
 *
 * So a program that writes a buffer, then changes that buffer, then reads,
 * gets the *changed* bytes back: the kernel reads the program's own page.
 *
 * The article's defects are kept on purpose; lab 06 shows each one failing
 * and the student fixes them. Each is marked "SEED-BUG n" where it lives;
 * the numbers are stable because labs and tests refer to them:
 *
 *   1  read() before any write() dereferences a NULL page array (oops).
 *   2  read() copies `count` bytes however little was mapped, from the
 *      first page onward: it leaks whatever kernel memory follows.
 *   3  a second write() overwrites the page array: the first pages leak.
 *   4  write() returns 0 ("wrote nothing") instead of an error code
 *      when the pages cannot be mapped.
 *   5  no locking: concurrent read/write on one open file race.
 *   6  page_address() on a page from GUP; kmap_local_page() is the
 *      portable way (page_address() fails for highmem on 32-bit).
 *   7  get_user_pages where pin_user_pages belongs: the driver keeps the
 *      pages and reads their contents, which is what FOLL_PIN is for.
 *   8  FOLL_WRITE although the driver only reads the buffer, so writing
 *      from a read-only buffer fails.
 *   9  read() ignores *ppos (never reaches end of file) and reports a
 *      failed copy as a short read instead of -EFAULT.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/fs.h>
#include <linux/device.h>
#include <linux/slab.h>
#include <linux/mm.h>
#include <linux/highmem.h>
#include <linux/uaccess.h>

#include "compat.h"

/* The most pages one write() may map: 5 pages, as in the article. */
#define CDEV_MAX_PAGES 5

/* What one open file has mapped: the caller's pages and where its buffer starts. */
struct cdev_buffer {
	struct page **mapped_pages;
	unsigned long offset;	/* of the buffer within mapped_pages[0] */
	int nr_pages;
};

/*
 * Map the user buffer [uaddr, uaddr + count) into the kernel.
 * Returns the number of pages mapped (0 for an empty buffer) or -errno.
 */
static int cdev_map_user_pages(struct cdev_buffer *cbuf, unsigned int max_pages,
			       unsigned long uaddr, size_t count, bool writable)
{
	unsigned long first = uaddr >> PAGE_SHIFT;
	unsigned long end = (uaddr + count + PAGE_SIZE - 1) >> PAGE_SHIFT;
	struct page **pages;
	long nr_pages, got, i;

	if (uaddr + count < uaddr)
		return -EINVAL;
	nr_pages = end - first;
	if (nr_pages > max_pages)
		return -ENOMEM;
	if (count == 0)
		return 0;

	pages = kmalloc_array(max_pages, sizeof(*pages), GFP_KERNEL);
	if (!pages)
		return -ENOMEM;

	/*
	 * SEED-BUG 7: get_user_pages_unlocked() only takes a reference on each
	 * page. A driver that keeps user pages and reads their contents later
	 * should pin them (pin_user_pages_fast(), released with
	 * unpin_user_pages()), so the kernel knows the data is in use.
	 *
	 * SEED-BUG 8: writable is true for write(), so this asks for write
	 * access (FOLL_WRITE) to a buffer the driver only ever reads.
	 */
	got = get_user_pages_unlocked(uaddr, nr_pages, pages,
				      writable ? FOLL_WRITE : 0);
	if (got < nr_pages)
		goto out_put_pages;

	/* A no-op on x86; on CPUs with aliasing data caches it matters. */
	for (i = 0; i < nr_pages; i++)
		flush_dcache_page(pages[i]);

	cbuf->offset = uaddr & ~PAGE_MASK;
	/* SEED-BUG 3: any array mapped by an earlier write() is lost here. */
	cbuf->mapped_pages = pages;
	return nr_pages;

out_put_pages:
	/* GUP may have mapped some pages before it failed: give them back. */
	for (i = 0; i < got; i++)
		put_page(pages[i]);
	kfree(pages);
	return got < 0 ? got : -EFAULT;
}

static void cdev_unmap_user_pages(struct cdev_buffer *cbuf)
{
	int i;

	for (i = 0; i < cbuf->nr_pages; i++)
		put_page(cbuf->mapped_pages[i]);
	kfree(cbuf->mapped_pages);
	cbuf->mapped_pages = NULL;
	cbuf->nr_pages = 0;
}

static int cdev_open(struct inode *inode, struct file *filp)
{
	struct cdev_buffer *cbuf;

	cbuf = kzalloc(sizeof(*cbuf), GFP_KERNEL);
	if (!cbuf)
		return -ENOMEM;
	filp->private_data = cbuf;
	return 0;
}

static int cdev_release(struct inode *inode, struct file *filp)
{
	struct cdev_buffer *cbuf = filp->private_data;

	/* The driver never writes to the pages, so they are not dirtied. */
	cdev_unmap_user_pages(cbuf);
	kfree(cbuf);
	return 0;
}

static ssize_t cdev_read(struct file *filp, char __user *buf, size_t count,
			 loff_t *ppos)
{
	struct cdev_buffer *cbuf = filp->private_data;
	/* SEED-BUG 1: before the first write(), mapped_pages is NULL. */
	struct page *page = cbuf->mapped_pages[0];
	/* SEED-BUG 6: page_address() instead of kmap_local_page(). */
	void *kaddr = page_address(page) + cbuf->offset;

	/*
	 * SEED-BUG 2: count is not bounded by what was mapped
	 * (nr_pages * PAGE_SIZE - offset), and only the first page is used.
	 * SEED-BUG 9: *ppos is ignored, and copy_to_user()'s "bytes not
	 * copied" becomes a short read instead of -EFAULT.
	 */
	return count - copy_to_user(buf, kaddr, count);
}

static ssize_t cdev_write(struct file *filp, const char __user *buf,
			  size_t count, loff_t *ppos)
{
	struct cdev_buffer *cbuf = filp->private_data;
	int ret;

	/*
	 * SEED-BUG 5: nothing serialises this with read() or another write()
	 * on the same file: both update and use cbuf unlocked.
	 */
	ret = cdev_map_user_pages(cbuf, CDEV_MAX_PAGES, (unsigned long)buf,
				  count, true);
	if (ret <= 0) {
		pr_err("%s: map user pages failed (%d)\n", __func__, ret);
		/* SEED-BUG 4: should return ret, the error, not 0. */
		return 0;
	}
	cbuf->nr_pages = ret;
	return count;
}

static const struct file_operations cdev_fops = {
	.owner = THIS_MODULE,
	.open = cdev_open,
	.read = cdev_read,
	.write = cdev_write,
	.release = cdev_release,
	.llseek = compat_no_llseek,
};

/* Put the node at /dev/cdev/cdev0 and let every user open it. */
static char *cdev_devnode(COMPAT_DEVNODE_CONST struct device *dev, umode_t *mode)
{
	if (mode)
		*mode = 0666;
	return kasprintf(GFP_KERNEL, "cdev/%s", dev_name(dev));
}

static struct class *cdev_class;
static int cdev_major;

static int __init cdev_init(void)
{
	struct device *dev;
	int ret;

	cdev_major = register_chrdev(0, "cdev", &cdev_fops);
	if (cdev_major < 0) {
		pr_err("register_chrdev failed (%d)\n", cdev_major);
		return cdev_major;
	}

	cdev_class = compat_class_create("cdev");
	if (IS_ERR(cdev_class)) {
		ret = PTR_ERR(cdev_class);
		goto out_unregister_chrdev;
	}
	cdev_class->devnode = cdev_devnode;

	dev = device_create(cdev_class, NULL, MKDEV(cdev_major, 0), NULL, "cdev%d", 0);
	if (IS_ERR(dev)) {
		ret = PTR_ERR(dev);
		goto out_destroy_class;
	}
	return 0;

out_destroy_class:
	class_destroy(cdev_class);
out_unregister_chrdev:
	unregister_chrdev(cdev_major, "cdev");
	return ret;
}

static void __exit cdev_exit(void)
{
	device_destroy(cdev_class, MKDEV(cdev_major, 0));
	class_destroy(cdev_class);
	unregister_chrdev(cdev_major, "cdev");
}

module_init(cdev_init);
module_exit(cdev_exit);

MODULE_AUTHOR("Yannik Li (original article); uaccess-lab");
MODULE_DESCRIPTION("Maps a writer's pages into the kernel; read() copies them back out");
MODULE_LICENSE("GPL");
