// SPDX-License-Identifier: GPL-2.0
/*
 * spin: reading /proc/spin loops forever with preemption disabled.
 *
 * Test fixture for uaccess_lab.vm: the reader cannot be killed, its CPU
 * never schedules again, and the kernel's watchdog reports a soft lockup
 * after about 20 s (2 x watchdog_thresh).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/preempt.h>
#include <linux/proc_fs.h>

static ssize_t spin_read(struct file *file, char __user *buf, size_t count, loff_t *ppos)
{
	pr_info("spinning with preemption off\n");
	preempt_disable();
	for (;;)
		cpu_relax();
	return 0; /* never reached */
}

static const struct proc_ops spin_ops = {
	.proc_read = spin_read,
};

static int __init spin_init(void)
{
	if (!proc_create("spin", 0444, NULL, &spin_ops))
		return -ENOMEM;
	return 0;
}

static void __exit spin_exit(void)
{
	remove_proc_entry("spin", NULL);
}

module_init(spin_init);
module_exit(spin_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Spins forever with preemption off: a test fixture");
