/* The uplink kinds pvbackd knows, by name (the -o vif.uplink=KIND option).
 * Adding AF_XDP or a null uplink is one line here plus its own file. */
#include <string.h>

#include "uplink/uplink.h"

static const struct uplink_ops *const uplink_kinds[] = {
    &uplink_tap_ops,
};

const struct uplink_ops *uplink_ops_find(const char *kind)
{
        for (size_t i = 0; i < sizeof(uplink_kinds) / sizeof(uplink_kinds[0]); i++)
                if (strcmp(uplink_kinds[i]->kind, kind) == 0)
                        return uplink_kinds[i];
        return NULL;
}
