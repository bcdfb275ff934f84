/* `progress`: what a machine's commands do, as data for programs (the
 * docker-machine wrapper prints Docker Machine's lines and picks its exit
 * codes from it; no program has to read the English of `log`). One event
 * a line, fields separated by one space, the last field the rest of the
 * line:
 *   begin CMD          a command starts (also one refused at once)
 *   step ID TEXT       step ID starts, or says more; TEXT is Docker
 *                      Machine's progress line for it, empty when it prints
 *                      none
 *   ok CMD             the command succeeded
 *   fail ID MESSAGE    it failed in step ID ("refused": before it began);
 *                      MESSAGE is the `error` line
 * Step ids of create: config certs precreate save create copy-certs
 * wait-running detect-os provision.STEP (fs/provisioning.c; STEP as in
 * provision/provision.h) check up; of start stop restart kill: the
 * command's name (its "Machine \"x\" was started." line), then for a host
 * with SSH coming up wait-ssh wait-docker; of upgrade provision
 * regenerate-certs: provision.STEP; of rm rm-force: none.
 * Kept in the machine's folder of the store (machinefs.progress), appended
 * by the thread that runs the command; started afresh by a command that
 * finds it over 64 KiB. */
#ifndef MFS_PROGRESS_H
#define MFS_PROGRESS_H

#include "fs/machine.h"

void machine_progress_path(const struct machine *m, char *buf, size_t len);

void progress_begin(struct machine *m, const char *cmd);
/* A step line; text (printf format, may be "") also goes to the log. */
void progress_step(struct machine *m, const char *id, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* ok, or fail in the current step with msg. */
void progress_end(struct machine *m, const char *cmd, int rc, const char *msg);
/* A command refused before it began: begin + fail refused. */
void progress_refused(struct machine *m, const char *cmd, const char *msg);
/* The step this thread's command is in ("" outside a command). */
const char *progress_current_step(void);

#endif
