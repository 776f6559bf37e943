/* CPU lists as Linux writes them (cpuset.cpus, /sys/devices/system/cpu/online,
 * taskset -c): "0-3,8,10-11". Pure functions, for pvbackd --worker-cpus. */
#ifndef PVBACK_CPULIST_H
#define PVBACK_CPULIST_H

#include <sched.h>
#include <stddef.h>

/* Parses s into *out. -EINVAL for anything but comma-separated CPUs and
 * ascending ranges below CPU_SETSIZE (no spaces, no empty items). */
int pv_cpulist_parse(const char *s, cpu_set_t *out);
/* The n-th CPU of the set (from 0), wrapping around its size; -1 if empty. */
int pv_cpulist_nth(const cpu_set_t *set, unsigned n);
/* The set written back as a list, "" when empty; truncated to len - 1. */
void pv_cpulist_format(const cpu_set_t *set, char *buf, size_t len);

#endif
