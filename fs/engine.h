/* The engine probe: the machine's Docker engine asked over TLS with the
 * client certificate, now, within a bound. Docker Machine asks the engine
 * when asked (version, ls, env, config, end of create); machinefs asks at
 * the end of every command that touches the engine, on a write to the
 * machine's `engine` file, and in the background refresh. The answer is
 * recorded (docker_version, and the result `engine` shows) at once. */
#ifndef MFS_ENGINE_H
#define MFS_ENGINE_H

#include <stdbool.h>

#include "fs/machine.h"
#include "lib/strbuf.h"
#include "provision/provision.h"

/* The result classes `engine` shows on its "result" line. */
#define ENGINE_RESULTS "ok tls-ok no-url files refused unreachable timeout untrusted tls answer error"

/* Probe m's engine now (bounded by timeout_ms; tls_only: the handshake
 * only, as Docker Machine's check for env and config) and record the
 * answer. 0, or -errno with the message in err (may be NULL). */
int machine_probe_engine(struct machine *m, bool tls_only, int timeout_ms, char *err);

/* Record a probe made elsewhere (the background refresh). rc and reach as
 * engine_probe returned them; url "" when there was none to ask.
 * Caller holds m->lock. */
void engine_record_locked(struct machine *m, const char *url, bool tls_only, int rc,
			  enum engine_reach reach, const char *version, const char *err);

/* `engine`: "result CLASS", "address HOST:PORT", "version V",
 * "checked TIME|never", "error MESSAGE" lines. */
void render_engine(struct machine *m, struct strbuf *sb);

/* A write to `engine`: "version" (HTTPS GET /version, at most 10 s) or
 * "tls" (the TLS handshake, at most 20 s). */
int machine_engine_write(struct machine *m, const char *text, char *err);

#endif
