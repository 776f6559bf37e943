/* Shared by the "sim" provider's files (xh_sim*.c): where this process's
 * simulated host is, which domain it acts as, and the per-kind openers. */
#ifndef PVBACK_XH_SIM_IMPL_H
#define PVBACK_XH_SIM_IMPL_H

#include "xh_impl.h"

/* Host directory and own domid from the environment (sim_paths.h). */
int xh_sim_env(const char **dir, uint16_t *domid);

int xh_sim_evtchn_open(struct xh_evtchn **out);
int xh_sim_gnttab_open(struct xh_gnttab **out);
int xh_sim_gntshr_open(struct xh_gntshr **out);

/* A contiguous range of page mappings: PROT_NONE reservation, then each frame
 * of a domain's mem file mapped over it with MAP_FIXED. */
int xh_sim_map_frames(int mem_fd, const uint32_t *frames, uint32_t count, int prot, void **addr);

#endif
