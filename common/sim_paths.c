/* Implementation of sim_paths.h. */
#include "sim_paths.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

int sim_path_host(char *buf, size_t len, const char *dir, const char *name)
{
        int n = snprintf(buf, len, "%s/%s", dir, name);
        return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int sim_path_dom(char *buf, size_t len, const char *dir, uint16_t domid, const char *name)
{
        int n = name ? snprintf(buf, len, "%s/dom%u/%s", dir, domid, name)
                     : snprintf(buf, len, "%s/dom%u", dir, domid);
        return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int sim_env_dir(const char **dir)
{
        const char *d = getenv(SIM_ENV_DIR);
        if (!d || !*d)
                return -ENOENT;
        *dir = d;
        return 0;
}

int sim_env_domid(uint16_t *domid)
{
        const char *s = getenv(SIM_ENV_DOMID);
        char *end = NULL;
        if (!s || !*s)
                return -ENOENT;
        errno = 0;
        unsigned long v = strtoul(s, &end, 10);
        if (errno || *end || end == s || v >= 0x7FF0)
                return -EINVAL;
        *domid = (uint16_t)v;
        return 0;
}
