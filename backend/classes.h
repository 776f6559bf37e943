/* The device classes pvbackd serves, in registration order. */
#ifndef PVBACK_CLASSES_H
#define PVBACK_CLASSES_H

#include "be_dev.h"

extern const struct be_class *const be_classes[];

#endif
