// SPDX-License-Identifier: GPL-2.0
/*
 * nullread: reading /proc/nullread dereferences a NULL pointer.
 *
 * Test fixture for uaccess_lab.vm: the reader is killed by an oops whose
 * RIP is nullread_read, and the report must map to the line marked below.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/proc_fs.h>

/* A module parameter, so the compiler cannot prove the pointer is NULL. */
static unsigned long address;
module_param(address, ulong, 0444);
MODULE_PARM_DESC(address, "address read by /proc/nullread (0: NULL)");

static ssize_t nullread_read(struct file *file, char __user *buf, size_t count, loff_t *ppos)
{
	int *p = (int *)address;

	pr_info("reading address %lx\n", address);
	return *p; /* NULLREAD_FAULT_LINE */
}

static const struct proc_ops nullread_ops = {
	.proc_read = nullread_read,
};

static int __init nullread_init(void)
{
	if (!proc_create("nullread", 0444, NULL, &nullread_ops))
		return -ENOMEM;
	return 0;
}

static void __exit nullread_exit(void)
{
	remove_proc_entry("nullread", NULL);
}

module_init(nullread_init);
module_exit(nullread_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Oopses on read: a test fixture");
