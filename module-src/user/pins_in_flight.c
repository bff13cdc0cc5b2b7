// SPDX-License-Identifier: GPL-2.0
/*
 * pins_in_flight [SAMPLES] - how many FOLL_PIN page pins are held system-wide.
 *
 * The grader runs this before and after each driver test: a driver that
 * pins pages (pin_user_pages*) and never unpins them leaves the count higher.
 * Each sample first folds the per-CPU counters into /proc/vmstat (writing to
 * /proc/sys/vm/stat_refresh, root only), then prints
 *
 *     nr_foll_pin_acquired N
 *     nr_foll_pin_released M
 *
 * Exit status: 0 on success, 2 when /proc cannot be read.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int refresh_counters(void)
{
	FILE *f = fopen("/proc/sys/vm/stat_refresh", "w");

	if (!f)
		return -1;
	fputs("1\n", f);
	return fclose(f);
}

static int print_pin_counters(void)
{
	char key[64];
	unsigned long long value;
	int found = 0;
	FILE *f = fopen("/proc/vmstat", "r");

	if (!f)
		return -1;
	while (fscanf(f, "%63s %llu", key, &value) == 2) {
		if (!strcmp(key, "nr_foll_pin_acquired") || !strcmp(key, "nr_foll_pin_released")) {
			printf("%s %llu\n", key, value);
			found++;
		}
	}
	fclose(f);
	return found == 2 ? 0 : -1;
}

int main(int argc, char **argv)
{
	int samples = argc > 1 ? atoi(argv[1]) : 1;

	for (int i = 0; i < samples; i++) {
		if (refresh_counters() || print_pin_counters()) {
			perror("pins_in_flight: /proc/vmstat");
			return 2;
		}
	}
	return 0;
}
