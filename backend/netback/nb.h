/* Netback's face to pvbackd: the vif device class (kind "vif"). Everything
 * else in backend/netback/ is the class's business (see nb_vif.h). */
#ifndef PVBACK_NB_H
#define PVBACK_NB_H

#include "be_dev.h"

extern const struct be_class nb_class;

#endif
