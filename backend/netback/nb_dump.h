/* The vif's be_class.dump (nb_dump.c): what pvback-inspect shows of a vif. */
#ifndef PVBACK_NB_DUMP_H
#define PVBACK_NB_DUMP_H

#include "be_dev.h"

int nb_dump(struct be_dev *dev, struct json_object *obj);
/* The class's dump_class hook: how vifs are served and their uplinks. */
int nb_dump_class(struct devmgr *mgr, struct json_object *obj);

#endif
