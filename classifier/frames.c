/*
 * frames.c - receive a multipart ZeroMQ message (see frames.h).
 */
#include "frames.h"

#include <zmq.h>

int hb_frames_recv(void *sock, zmq_msg_t *frames, int max, int flags)
{
    int n = 0, more = 1;
    while (more) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, sock, n ? 0 : flags) < 0) {
            zmq_msg_close(&m);
            break;
        }
        more = zmq_msg_more(&m);
        if (n < max) {
            zmq_msg_init(&frames[n]);
            zmq_msg_move(&frames[n++], &m);
        }
        zmq_msg_close(&m);
    }
    return n;
}
