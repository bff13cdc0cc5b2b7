// SPDX-License-Identifier: GPL-2.0
/*
 * cdev.c - the article's character device with every SEED-BUG fixed
 * (the instructor's solution to lab 06).
 *
 * Loading it creates /dev/cdev/cdev0 (mode 0666). write(fd, buf, n) pins the
 * caller's pages and keeps them; read() copies from them, from the file
 * position on, up to the n bytes written, then reports end of file. So a
 * program that writes a buffer, changes it, then reads, gets the changed
 * bytes back. A new write() releases the old pages and starts at position 0.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/fs.h>
#include <linux/device.h>
#include <linux/slab.h>
#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/highmem.h>
#include <linux/uaccess.h>

#include "compat.h"

/* The most pages one write() may map: 5 pages, as in the article. */
#define CDEV_MAX_PAGES 5

struct cdev_buffer {
	struct mutex lock;		/* SEED-BUG 5: serialises read/write/release */
	struct page **pages;		/* pinned, or NULL before the first write */
	int nr_pages;
	unsigned long offset;		/* of the buffer within pages[0] */
	size_t len;			/* bytes written, readable from offset */
};

static void cdev_unmap_user_pages(struct cdev_buffer *cbuf)
{
	if (!cbuf->pages)
		return;
	/* SEED-BUG 7: pinned pages are released with unpin, not put_page. */
	unpin_user_pages(cbuf->pages, cbuf->nr_pages);
	kfree(cbuf->pages);
	cbuf->pages = NULL;
	cbuf->nr_pages = 0;
	cbuf->len = 0;
}

/* Pin [uaddr, uaddr + count) and make it the buffer; called with the lock held. */
static int cdev_map_user_pages(struct cdev_buffer *cbuf, unsigned long uaddr, size_t count)
{
	unsigned long first = uaddr >> PAGE_SHIFT;
	unsigned long end = (uaddr + count + PAGE_SIZE - 1) >> PAGE_SHIFT;
	struct page **pages;
	long nr_pages, got;

	if (uaddr + count < uaddr)
		return -EINVAL;
	nr_pages = end - first;
	if (nr_pages > CDEV_MAX_PAGES)
		return -ENOMEM;

	pages = kmalloc_array(nr_pages, sizeof(*pages), GFP_KERNEL);
	if (!pages)
		return -ENOMEM;

	/*
	 * SEED-BUG 7: pin, and FOLL_LONGTERM because the pages stay in use
	 * after write() returns. SEED-BUG 8: no FOLL_WRITE, we only read them.
	 */
	got = pin_user_pages_fast(uaddr, nr_pages, FOLL_LONGTERM, pages);
	if (got < nr_pages) {
		if (got > 0)
			unpin_user_pages(pages, got);
		kfree(pages);
		return got < 0 ? got : -EFAULT;
	}

	/* SEED-BUG 3: release what an earlier write() mapped. */
	cdev_unmap_user_pages(cbuf);
	cbuf->pages = pages;
	cbuf->nr_pages = nr_pages;
	cbuf->offset = uaddr & ~PAGE_MASK;
	cbuf->len = count;
	return 0;
}

static int cdev_open(struct inode *inode, struct file *filp)
{
	struct cdev_buffer *cbuf;

	cbuf = kzalloc(sizeof(*cbuf), GFP_KERNEL);
	if (!cbuf)
		return -ENOMEM;
	mutex_init(&cbuf->lock);
	filp->private_data = cbuf;
	return 0;
}

static int cdev_release(struct inode *inode, struct file *filp)
{
	struct cdev_buffer *cbuf = filp->private_data;

	cdev_unmap_user_pages(cbuf);
	mutex_destroy(&cbuf->lock);
	kfree(cbuf);
	return 0;
}

static ssize_t cdev_read(struct file *filp, char __user *buf, size_t count,
			 loff_t *ppos)
{
	struct cdev_buffer *cbuf = filp->private_data;
	size_t done = 0;
	ssize_t ret;

	if (mutex_lock_interruptible(&cbuf->lock))
		return -ERESTARTSYS;

	/* SEED-BUG 1 and 9: nothing written yet, or all read: end of file. */
	if (!cbuf->pages || *ppos >= cbuf->len) {
		ret = 0;
		goto out_unlock;
	}
	/* SEED-BUG 2: never past what was written. */
	count = min_t(size_t, count, cbuf->len - *ppos);

	while (done < count) {
		unsigned long pos = cbuf->offset + *ppos + done;
		unsigned long in_page = pos & ~PAGE_MASK;
		size_t chunk = min_t(size_t, count - done, PAGE_SIZE - in_page);
		/* SEED-BUG 6: a temporary kernel mapping works for any page. */
		void *kaddr = kmap_local_page(cbuf->pages[pos >> PAGE_SHIFT]);
		unsigned long left = copy_to_user(buf + done, kaddr + in_page, chunk);

		kunmap_local(kaddr);
		if (left) {
			/* SEED-BUG 9: a fault is an error, not a short read. */
			ret = -EFAULT;
			goto out_unlock;
		}
		done += chunk;
	}
	*ppos += done;
	ret = done;

out_unlock:
	mutex_unlock(&cbuf->lock);
	return ret;
}

static ssize_t cdev_write(struct file *filp, const char __user *buf,
			  size_t count, loff_t *ppos)
{
	struct cdev_buffer *cbuf = filp->private_data;
	int ret;

	if (count == 0)
		return 0;
	if (mutex_lock_interruptible(&cbuf->lock))
		return -ERESTARTSYS;
	ret = cdev_map_user_pages(cbuf, (unsigned long)buf, count);
	if (ret == 0)
		*ppos = 0;	/* a new buffer is read from its start */
	mutex_unlock(&cbuf->lock);
	/* SEED-BUG 4: report the error itself. */
	return ret ? ret : count;
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
MODULE_DESCRIPTION("Pins a writer's pages; read() copies them back out");
MODULE_LICENSE("GPL");
