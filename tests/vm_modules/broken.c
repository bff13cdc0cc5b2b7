// SPDX-License-Identifier: GPL-2.0
/*
 * broken: does not compile. Test fixture for build diagnostics: the error
 * is an undeclared identifier on the marked line below.
 */
#include <linux/module.h>

static int __init broken_init(void)
{
	return undeclared_thing; /* BROKEN_LINE */
}

module_init(broken_init);
MODULE_LICENSE("GPL");
