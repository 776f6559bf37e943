/* The release every pvback program reports (pvbackd's control socket,
 * pvback-inspect). One place, so the daemon and its tools never disagree. */
#ifndef PVBACK_VERSION_H
#define PVBACK_VERSION_H

#define PVBACK_VERSION "0.1.0"

#endif
