/* Implementation of cpulist.h. */
#include "cpulist.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>

/* A decimal CPU number below CPU_SETSIZE; *end is the first byte after it. */
static int parse_cpu(const char *s, const char **end, unsigned *out)
{
        unsigned v = 0;
        const char *p = s;
        if (*p < '0' || *p > '9')
                return -EINVAL;
        for (; *p >= '0' && *p <= '9'; p++) {
                v = v * 10 + (unsigned)(*p - '0');
                if (v >= CPU_SETSIZE)
                        return -EINVAL;
        }
        *end = p;
        *out = v;
        return 0;
}

int pv_cpulist_parse(const char *s, cpu_set_t *out)
{
        cpu_set_t set;
        CPU_ZERO(&set);
        if (!s || !*s)
                return -EINVAL;
        for (const char *p = s;;) {
                unsigned lo, hi;
                if (parse_cpu(p, &p, &lo) < 0)
                        return -EINVAL;
                hi = lo;
                if (*p == '-' && (parse_cpu(p + 1, &p, &hi) < 0 || hi < lo))
                        return -EINVAL;
                for (unsigned c = lo; c <= hi; c++)
                        CPU_SET(c, &set);
                if (!*p)
                        break;
                if (*p++ != ',')
                        return -EINVAL;
        }
        *out = set;
        return 0;
}

int pv_cpulist_nth(const cpu_set_t *set, unsigned n)
{
        int count = CPU_COUNT(set);
        if (count == 0)
                return -1;
        n %= (unsigned)count;
        for (int c = 0; c < CPU_SETSIZE; c++)
                if (CPU_ISSET(c, set) && n-- == 0)
                        return c;
        return -1;
}

void pv_cpulist_format(const cpu_set_t *set, char *buf, size_t len)
{
        size_t used = 0;
        bool first = true;
        if (len)
                buf[0] = '\0';
        for (int c = 0; c < CPU_SETSIZE && used + 1 < len; c++) {
                if (!CPU_ISSET(c, set))
                        continue;
                int hi = c;
                while (hi + 1 < CPU_SETSIZE && CPU_ISSET(hi + 1, set))
                        hi++;
                int n = hi > c
                            ? snprintf(buf + used, len - used, "%s%d-%d", first ? "" : ",", c, hi)
                            : snprintf(buf + used, len - used, "%s%d", first ? "" : ",", c);
                if (n < 0)
                        break;
                used += (size_t)n < len - used ? (size_t)n : len - used - 1;
                first = false;
                c = hi;
        }
}
