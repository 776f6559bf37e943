/* The device classes pvbackd serves. A class is one line here. */
#include "classes.h"

#include <stddef.h>

#include "blkback/bb_vbd.h"
#include "netback/nb.h"

const struct be_class *const be_classes[] = {
        &nb_class,
        &bb_class,
        NULL,
};
