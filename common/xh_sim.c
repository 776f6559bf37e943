/* The "sim" provider: the seam over pvback-sim's shared grant tables and its
 * event-channel broker. This file holds the probe and the operation tables;
 * the work is in xh_sim_evtchn.c, xh_sim_gnttab.c and xh_sim_gntshr.c. */
#include "xh_sim_impl.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "sim_paths.h"

int xh_sim_env(const char **dir, uint16_t *domid)
{
        int rc = sim_env_dir(dir);
        return rc < 0 ? rc : sim_env_domid(domid);
}

static int sim_probe(char *why, size_t whylen)
{
        static const char *const files[] = {SIM_GNTTAB_FILE, SIM_MEM_FILE, SIM_EVTCHN_SOCK};
        const char *dir;
        uint16_t domid;
        char path[4096];
        int rc;

        if ((rc = sim_env_dir(&dir)) < 0) {
                snprintf(why, whylen, "$%s is not set", SIM_ENV_DIR);
                return -ENODEV;
        }
        if ((rc = sim_env_domid(&domid)) < 0) {
                snprintf(why, whylen, "$%s is %s", SIM_ENV_DOMID,
                         rc == -ENOENT ? "not set" : "not a valid domain id");
                return -ENODEV;
        }
        for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
                if (sim_path_dom(path, sizeof(path), dir, domid, files[i]) < 0 ||
                    access(path, R_OK | W_OK) < 0) {
                        snprintf(why, whylen, "%s: %s (is domain %u created on that host?)", path,
                                 strerror(errno), domid);
                        return -ENODEV;
                }
        }
        return 0;
}

int xh_sim_map_frames(int mem_fd, const uint32_t *frames, uint32_t count, int prot, void **addr)
{
        size_t len = (size_t)count * XH_PAGE_SIZE;
        uint8_t *base = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                             -1, 0);
        if (base == MAP_FAILED)
                return -errno;
        for (uint32_t i = 0; i < count; i++) {
                void *p = mmap(base + (size_t)i * XH_PAGE_SIZE, XH_PAGE_SIZE, prot,
                               MAP_SHARED | MAP_FIXED, mem_fd, (off_t)frames[i] * XH_PAGE_SIZE);
                if (p == MAP_FAILED) {
                        int rc = -errno;
                        munmap(base, len);
                        return rc;
                }
        }
        *addr = base;
        return 0;
}

const struct xh_provider xh_provider_sim = {
        .name = "sim",
        .probe = sim_probe,
        .evtchn_open = xh_sim_evtchn_open,
        .gnttab_open = xh_sim_gnttab_open,
        .gntshr_open = xh_sim_gntshr_open,
};
