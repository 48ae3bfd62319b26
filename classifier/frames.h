/*
 * frames.h - one multipart ZeroMQ message received into a bounded array
 * of frames, for the ZeroMQ code on both sides of hubaod: the hubao
 * commands' clients and hubaod's ZAP handler (auth.h).  A peer decides
 * how many frames it sends; the receiver keeps as many as it can use and
 * drops the rest, so that a message is always read whole.
 */
#ifndef HB_FRAMES_H
#define HB_FRAMES_H

struct zmq_msg_t;

/* Receive one multipart message from the ZeroMQ socket sock, keeping its
 * first max frames in frames (each initialised here; the caller closes
 * them) and dropping the rest.  flags applies to the first frame
 * (ZMQ_DONTWAIT: do not wait for a message).  Returns the number of
 * frames kept; 0 when nothing was received. */
int hb_frames_recv(void *sock, struct zmq_msg_t *frames, int max, int flags);

#endif
