/* Implementation of cpulist.h. */
#include "cpulist.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

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

/* The first CPU of the set at or after c; CPU_SETSIZE if none. */
static int next_cpu(const cpu_set_t *set, int c)
{
        while (c < CPU_SETSIZE && !CPU_ISSET(c, set))
                c++;
        return c;
}

void pv_cpulist_format(const cpu_set_t *set, char *buf, size_t len)
{
        size_t used = 0;
        if (!len)
                return;
        buf[0] = '\0';
        for (int c = next_cpu(set, 0); c < CPU_SETSIZE; c = next_cpu(set, c + 1)) {
                char item[32];
                int hi = c, n;
                while (hi + 1 < CPU_SETSIZE && CPU_ISSET(hi + 1, set))
                        hi++;
                n = hi > c ? snprintf(item, sizeof(item), "%s%d-%d", used ? "," : "", c, hi)
                           : snprintf(item, sizeof(item), "%s%d", used ? "," : "", c);
                /* Room for "..." stays unless this is the last item. */
                bool last = next_cpu(set, hi + 1) == CPU_SETSIZE;
                if (used + (size_t)n + (last ? 0 : 3) >= len) {
                        if (used + 3 < len)
                                memcpy(buf + used, "...", 4);
                        return;
                }
                memcpy(buf + used, item, (size_t)n + 1);
                used += (size_t)n;
                c = hi;
        }
}
