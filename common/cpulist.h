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
/* Enough for any set: every other CPU of CPU_SETSIZE (1024) takes 2004. */
#define PV_CPULIST_MAX (CPU_SETSIZE * 5 / 2)
/* The set written back as a list, "" when empty. What does not fit in len
 * ends in "..." after the last whole item, never in a cut number. */
void pv_cpulist_format(const cpu_set_t *set, char *buf, size_t len);

#endif
