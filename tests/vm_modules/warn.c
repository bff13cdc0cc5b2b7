// SPDX-License-Identifier: GPL-2.0
/*
 * warn: its init triggers one WARN_ON and then loads normally.
 *
 * Test fixture for uaccess_lab.vm: a WARNING is reported but is not fatal,
 * so the guest is not rebooted afterwards.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>

/* A parameter, so the condition is not a compile-time constant. */
static int trigger = 1;
module_param(trigger, int, 0444);
MODULE_PARM_DESC(trigger, "1: WARN_ON at load");

static int __init warn_init(void)
{
	WARN_ON(trigger);
	return 0;
}

static void __exit warn_exit(void)
{
}

module_init(warn_init);
module_exit(warn_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Warns once at load: a test fixture");
