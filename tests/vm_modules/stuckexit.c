// SPDX-License-Identifier: GPL-2.0
/*
 * stuckexit: loads fine, but its exit function never returns.
 *
 * Test fixture for uaccess_lab.vm: `rmmod stuckexit` sleeps forever in
 * uninterruptible sleep (SIGKILL cannot stop it), so unload() must report
 * it after its timeout instead of waiting.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/delay.h>
#include <linux/module.h>

static int __init stuckexit_init(void)
{
	pr_info("loaded; rmmod will never finish\n");
	return 0;
}

static void __exit stuckexit_exit(void)
{
	for (;;)
		msleep(1000);
}

module_init(stuckexit_init);
module_exit(stuckexit_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("An exit function that never returns: a test fixture");
