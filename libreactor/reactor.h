/*
 * libreactor: a small epoll reactor for message servers and clients. This
 * header includes every part of it; each part has its own header:
 *
 *   loop.h     the event loop, fd handlers, tasks; the threading model
 *   timer.h    timers of a loop
 *   pool.h     loops on threads of their own
 *   buf.h      byte buffers from a per-thread pool
 *   frame.h    the frame format shared by every transport
 *   router.h   received messages, msgid -> handler
 *   stats.h    transport counters
 *   stream.h   a framed connection (what the TCP server and client share)
 *   tcp.h      TCP server and client
 *   udp.h      UDP server and client
 *   addr.h     text addresses
 *   backoff.h  reconnect delays
 */
#ifndef LIBREACTOR_REACTOR_H
#define LIBREACTOR_REACTOR_H

#include "libreactor/addr.h"
#include "libreactor/backoff.h"
#include "libreactor/buf.h"
#include "libreactor/frame.h"
#include "libreactor/loop.h"
#include "libreactor/pool.h"
#include "libreactor/router.h"
#include "libreactor/stats.h"
#include "libreactor/stream.h"
#include "libreactor/tcp.h"
#include "libreactor/timer.h"
#include "libreactor/udp.h"

#endif
