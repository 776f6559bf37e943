/* Implementation of ctl_proto.h. */
#include "ctl_proto.h"

#include <errno.h>
#include <stdio.h>

#include "sim_paths.h"

int ctl_default_path(bool sim, char *buf, size_t len)
{
        const char *dir;
        uint16_t domid;
        int rc;

        if (!sim) {
                rc = snprintf(buf, len, "%s", CTL_DEFAULT_PATH);
                return rc < 0 || (size_t)rc >= len ? -ENAMETOOLONG : 0;
        }
        if ((rc = sim_env_dir(&dir)) < 0 || (rc = sim_env_domid(&domid)) < 0)
                return -ENOENT;
        rc = snprintf(buf, len, "%s/" CTL_SIM_SOCK_FMT, dir, domid);
        return rc < 0 || (size_t)rc >= len ? -ENAMETOOLONG : 0;
}
