/* Core-internal: provisioning a machine over SSH (fs/provisioning.c hands
 * provision/ a plain request built from the machine's record). */
#ifndef MFS_PROVISIONING_H
#define MFS_PROVISIONING_H

#include "fs/machine.h"

/* FULL: the provision command; CREATE: the same as the end of create
 * (only Docker Machine's progress lines differ). */
enum provision_kind { PROVISION_FULL, PROVISION_CREATE, PROVISION_CERTS, PROVISION_UPGRADE };
/* Provision m over SSH (runs while m is busy). */
int machine_provision(struct machine *m, enum provision_kind kind, char *err);

#endif
