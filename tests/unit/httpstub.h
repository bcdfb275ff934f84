/* A scripted HTTP/1.1 server on 127.0.0.1:0 for unit tests (one thread,
 * one connection at a time, Connection: close): the Nth request gets the
 * Nth reply of the script (the last one again after the end), and each
 * request is recorded. */
#ifndef MFS_TEST_HTTPSTUB_H
#define MFS_TEST_HTTPSTUB_H

#include <pthread.h>

struct reply {
	int status;
	const char *headers; /* extra "Name: value\r\n" lines */
	const char *body;
	int delay_ms;        /* before answering; script() or srv.cut end it */
};

#define MAXREQ 32
struct stub {
	pthread_mutex_t lock;
	int port;
	const struct reply *script;
	int nscript;
	int nreq;
	char line[MAXREQ][256];   /* "METHOD /path?query" */
	char sig[MAXREQ][64];     /* X-Sig header */
	char auth[MAXREQ][256];   /* Authorization header */
	char body[MAXREQ][2048];
	long at_ms[MAXREQ];
	volatile int cut;         /* end a delay now */
	volatile int gen;         /* bumped by script(): ends old delays */
};
extern struct stub srv;

void start_server(void);                       /* sets srv.port */
void script(const struct reply *r, int n);     /* also resets the record */
long now_ms(void);

#endif
