/* SPDX-License-Identifier: GPL-2.0 */
/*
 * compat.h - the kernel API changes between Debian's 6.1 and 6.12 kernels
 * that the course's modules run into, each turned into one feature macro.
 *
 * Driver code tests only these macros, never LINUX_VERSION_CODE, so the
 * version arithmetic lives here and nowhere else. To support another
 * kernel, add its changes here.
 */
#ifndef UACCESS_LAB_COMPAT_H
#define UACCESS_LAB_COMPAT_H

#include <linux/version.h>
#include <linux/device.h>
#include <linux/fs.h>

/* 6.4 dropped class_create()'s `struct module *owner` argument. */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 4, 0)
#define compat_class_create(name) class_create(name)
#else
#define compat_class_create(name) class_create(THIS_MODULE, name)
#endif

/* 6.2 made the device passed to a class's devnode() callback const. */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 2, 0)
#define COMPAT_DEVNODE_CONST const
#else
#define COMPAT_DEVNODE_CONST
#endif

/*
 * 6.12 removed no_llseek(): there a NULL .llseek means "not seekable".
 * Before 6.12 a NULL .llseek meant default_llseek(), so no_llseek was needed.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 12, 0)
#define compat_no_llseek NULL
#else
#define compat_no_llseek no_llseek
#endif

#endif /* UACCESS_LAB_COMPAT_H */
