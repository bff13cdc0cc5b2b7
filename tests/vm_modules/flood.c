// SPDX-License-Identifier: GPL-2.0
/*
 * flood: its init prints `lines` kernel log lines (default 200000).
 *
 * Test fixture for uaccess_lab.vm: far more than the kernel's ring buffer
 * holds, so the guest must return a bounded log that says it was cut.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>

/* How many lines to print: enough to overrun the ring buffer many times. */
static int lines = 200000;
module_param(lines, int, 0444);
MODULE_PARM_DESC(lines, "number of log lines printed at load");

static int __init flood_init(void)
{
	int i;

	for (i = 0; i < lines; i++)
		pr_info("line %d of %d\n", i, lines);
	return 0;
}

static void __exit flood_exit(void)
{
}

module_init(flood_init);
module_exit(flood_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Floods the kernel log: a test fixture");
