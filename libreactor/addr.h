/*
 * Text addresses "a.b.c.d:port", as used in every config file and log line
 * of the project.
 */
#ifndef LIBREACTOR_ADDR_H
#define LIBREACTOR_ADDR_H

#include <netinet/in.h>
#include <stddef.h>

/* Parses "a.b.c.d:port" (port 0..65535). */
int rx_addr_parse(const char *s, struct sockaddr_in *ret);
/* "a.b.c.d:port" into buf (at least 22 bytes). */
const char *rx_addr_format(const struct sockaddr_in *a, char *buf, size_t size);

#endif
