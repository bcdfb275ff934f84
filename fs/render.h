/* The content of each generated file, rendered from a machine's record
 * (never from the network). Each appends to sb and takes m->lock. */
#ifndef MFS_RENDER_H
#define MFS_RENDER_H

#include "fs/machine.h"
#include "lib/strbuf.h"

enum env_shell { SHELL_POSIX, SHELL_FISH, SHELL_TCSH, SHELL_POWERSHELL,
		 SHELL_CMD, SHELL_EMACS };

void render_driver(struct machine *m, struct strbuf *sb);
void render_state(struct machine *m, struct strbuf *sb);
void render_ip(struct machine *m, struct strbuf *sb);
void render_url(struct machine *m, struct strbuf *sb);
void render_env(struct machine *m, enum env_shell shell, struct strbuf *sb);
void render_config(struct machine *m, struct strbuf *sb);
void render_config_json(struct machine *m, struct strbuf *sb);
void render_ctl(struct machine *m, struct strbuf *sb);
void render_error(struct machine *m, struct strbuf *sb);
void render_docker_version(struct machine *m, struct strbuf *sb);
void render_ssh(struct machine *m, const char *what, struct strbuf *sb);
/* The root's .list: one line per machine, sorted by name, TAB-separated
 * fields name, driver, state, url, docker-version, swarm, error and an
 * empty reserved one; \\, TAB and newline escaped as \\\\, \\t, \\n. */
void render_list(struct store *s, struct strbuf *sb);
/* .drivers/NAME/options */
void render_driver_options(const struct machine_driver *d, struct strbuf *sb);

/* The env lines for given values, as `docker-machine env` prints them,
 * each value quoted for the shell so that it is never code. -EINVAL
 * (nothing added) when a value holds a control character, or for cmd a
 * character it cannot escape (% ! "). */
int render_env_lines(enum env_shell shell, const char *host,
		      const char *cert_path, const char *name,
		      struct strbuf *sb);

#endif
