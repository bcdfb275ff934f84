/* Docker Machine's boot2docker key tars (see keytar.h). */
#include "drivers/keytar.h"

#include <stdio.h>
#include <string.h>

/* A ustar header block for name. */
static void tar_header(unsigned char *h, const char *name, size_t size, int mode, char type)
{
	memset(h, 0, 512);
	snprintf((char *)h, 100, "%s", name);
	snprintf((char *)h + 100, 8, "%07o", mode);
	snprintf((char *)h + 108, 8, "%07o", 0);
	snprintf((char *)h + 116, 8, "%07o", 0);
	snprintf((char *)h + 124, 12, "%011zo", size);
	snprintf((char *)h + 136, 12, "%011o", 0);
	h[156] = (unsigned char)type;
	memcpy(h + 257, "ustar\0" "00", 8);
	memset(h + 148, ' ', 8);
	unsigned sum = 0;
	for (int i = 0; i < 512; i++)
		sum += h[i];
	snprintf((char *)h + 148, 8, "%06o", sum);
}

void keytar_build(struct strbuf *sb, const char *magic, const char *pub, size_t publen)
{
	unsigned char h[512], pad[512] = { 0 };
	struct { const char *name; const void *data; size_t len; int mode; char type; } e[] = {
		{ magic, magic, strlen(magic), 0, '0' },
		{ ".ssh", NULL, 0, 0700, '5' },
		{ ".ssh/authorized_keys", pub, publen, 0644, '0' },
		{ ".ssh/authorized_keys2", pub, publen, 0644, '0' },
	};
	for (size_t i = 0; i < sizeof(e) / sizeof(e[0]); i++) {
		tar_header(h, e[i].name, e[i].len, e[i].mode, e[i].type);
		strbuf_add(sb, h, 512);
		if (e[i].len) {
			strbuf_add(sb, e[i].data, e[i].len);
			strbuf_add(sb, pad, (512 - e[i].len % 512) % 512);
		}
	}
	strbuf_add(sb, pad, 512);
	strbuf_add(sb, pad, 512);
}
