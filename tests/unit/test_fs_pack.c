/* A machine at rest packs base and priv (fs/machine.c): for every driver's
 * priv, patterns of bytes and zero runs of every length around the
 * packer's thresholds come back byte for byte, and an empty machine packs
 * to a few bytes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs/core.h"
#include "tests/unit/harness.h"

/* Bytes with zero runs of 0..40 and a long one, from a fixed seed. */
static void fill(unsigned char *p, size_t n, unsigned seed)
{
	size_t i = 0;
	while (i < n) {
		seed = seed * 1103515245u + 12345u;
		size_t zeros = (seed >> 16) % 41, lits = 1 + (seed >> 8) % 13;
		if ((seed >> 4) % 17 == 0)
			zeros = 3000;
		for (size_t k = 0; k < zeros && i < n; k++)
			p[i++] = 0;
		for (size_t k = 0; k < lits && i < n; k++)
			p[i++] = (unsigned char)(1 + (seed + k) % 255);
	}
}

static void round_trip(struct machine *m, unsigned seed)
{
	size_t bl = sizeof(*m->base), pl = m->priv_size;
	unsigned char *want = malloc(bl + pl + 1);
	CHECK(want != NULL);
	machine_thaw_locked(m);
	fill((unsigned char *)m->base, bl, seed);
	if (pl)
		fill(m->priv, pl, seed * 7u + 1u);
	memcpy(want, m->base, bl);
	if (pl)
		memcpy(want + bl, m->priv, pl);
	machine_freeze_locked(m);
	CHECK(m->base == NULL && m->priv == NULL);
	machine_thaw_locked(m);
	CHECK(m->base != NULL && !memcmp(want, m->base, bl));
	CHECK(!pl || (m->priv != NULL && !memcmp(want + bl, m->priv, pl)));
	free(want);
}

int main(void)
{
	char root[4096], err[ERR_MAX];
	snprintf(root, sizeof(root), "%s/pack", test_tmpdir());
	struct store *s;
	CHECK(store_open(root, &s, err) == 0);
	CHECK(store_mkdir(s, "p", err) == 0);
	struct machine *m = store_get(s, "p");
	CHECK(m != NULL);
	pthread_mutex_lock(&m->lock);
	/* At rest after mkdir: nothing but zeros, a few bytes. */
	CHECK(m->base == NULL);
	CHECK(m->packed_len <= 16);
	for (const struct machine_driver *const *d = machine_drivers; *d; d++) {
		snprintf(m->driver_name, sizeof(m->driver_name), "%s", (*d)->name);
		machine_bind_driver(m);
		CHECK(m->priv_size == ((*d)->priv_size ? (*d)->priv_size : 1));
		for (unsigned seed = 1; seed < 40; seed++)
			round_trip(m, seed);
		memset(m->base, 0, sizeof(*m->base));
		memset(m->priv, 0, m->priv_size);
		machine_freeze_locked(m);
		CHECK(m->packed_len <= 16);
	}
	/* A command keeps them unpacked. */
	machine_thaw_locked(m);
	m->busy = "test";
	machine_freeze_locked(m);
	CHECK(m->base != NULL);
	m->busy = NULL;
	pthread_mutex_unlock(&m->lock);
	machine_put(m);
	store_close(s);
	return test_report();
}
