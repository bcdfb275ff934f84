/* Docker Machine's boot2docker key tars: a magic file first (who wrote
 * it), then .ssh/ with authorized_keys and authorized_keys2 holding the
 * machine's public key. virtualbox puts one at the start of the disk
 * ("boot2docker, please format-me"); vmwarefusion copies one into the
 * guest as userdata.tar ("boot2docker, this is vmware speaking"). */
#ifndef MFS_KEYTAR_H
#define MFS_KEYTAR_H

#include <stddef.h>

#include "lib/strbuf.h"

/* Append the whole tar (ustar, two zero blocks at the end) to sb. */
void keytar_build(struct strbuf *sb, const char *magic, const char *pub, size_t publen);

#endif
