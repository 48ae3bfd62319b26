/*
 * curvekey.h - CURVE key pairs and the files that hold them, shared by
 * hubaod (its own key pair, the public keys of the clients and workers it
 * lets in) and the `hubao` commands that talk to it (their own key pair,
 * the broker's public key): docs/protocol.md, "Authentication (CURVE)".
 *
 * The handshake and the encryption are libzmq's own CURVE mechanism
 * (CurveZMQ, RFC 26, on libsodium); nothing here is cryptography, only
 * keys moved between files and sockets.  Keys are written in Z85 (RFC 32:
 * 40 characters for the 32 bytes of a key).
 *
 * A key file is a ZeroMQ certificate as CZMQ's zcert and pyzmq's zmq.auth
 * write and read them (ZPL, RFC 4), so keys made with those tools work
 * here and the other way round:
 *
 *     # a comment
 *     metadata
 *     curve
 *         public-key = "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID"
 *         secret-key = "D:)Q[IlAW!ahhC2ac:9*A}h:p?([4%wOTJ%JR%cs"
 *
 * Read line by line: blank lines and lines starting with '#' are skipped,
 * a line that is a single word is a section name (skipped), and
 * `name = "value"` (quotes " or ', or none) sets a name.  public-key and
 * secret-key are read; other names (CZMQ's metadata) are ignored.
 * Anything else is an error naming file:line.
 *
 * `hubao keygen --out P` writes P.key, the secret key file (both keys,
 * mode 0600), and P.pub, the public one (public-key only), to hand out.
 */
#ifndef HB_CURVEKEY_H
#define HB_CURVEKEY_H

#include <stddef.h>

#include "error.h"

enum {
    HB_CURVE_KEY_BYTES = 32, /* a CURVE key (Curve25519) */
    HB_CURVE_Z85_LEN = 40,   /* the same in Z85 */
};

/* What a key file must hold. */
typedef enum hb_curve_kind {
    /* a public key alone: a secret key in the file is refused, since a
     * file meant to be handed out must not carry one */
    HB_CURVE_PUBLIC,
    /* a key pair: secret-key, and public-key if given must match it; the
     * file must be readable by its owner only (mode 0600, like ssh keys) */
    HB_CURVE_SECRET,
} hb_curve_kind;

typedef struct hb_curve_key {
    char public_key[HB_CURVE_Z85_LEN + 1]; /* Z85 */
    char secret_key[HB_CURVE_Z85_LEN + 1]; /* Z85; "" for a public key */
} hb_curve_key;

/* 1 when the libzmq linked in has CURVE (zmq_has("curve")); Debian's is
 * built with libsodium and has it. */
int hb_curve_available(void);

/* Make a new key pair (zmq_curve_keypair).  Returns 0, or HB_EINVAL with
 * err when libzmq has no CURVE. */
int hb_curve_keypair(hb_curve_key *key, hb_error *err);

/* Parse the text of a key file (len bytes; name, the file's name, is put
 * in errors) into key.  Returns 0, or HB_EFORMAT with err naming name:line
 * and what is wrong. */
int hb_curve_key_parse(const char *text, size_t len, const char *name, hb_curve_kind kind,
                       hb_curve_key *key, hb_error *err);

/* Read and parse the key file at path (a regular file of at most 64 KiB).
 * Returns 0, or HB_ENOTFOUND / HB_EIO (cannot be read; for a secret key,
 * also: group or others may read or write it) or HB_EFORMAT with err. */
int hb_curve_key_read(const char *path, hb_curve_kind kind, hb_curve_key *key,
                      hb_error *err);

/* Write key (a pair) as PREFIX.key (mode 0600) and PREFIX.pub (mode 0644
 * less the umask).  Neither may exist yet: a key is never overwritten.
 * Returns 0, or HB_EIO / HB_EINVAL with err; on failure nothing is left
 * behind. */
int hb_curve_key_write(const hb_curve_key *key, const char *prefix, hb_error *err);

/* The 32 bytes of a Z85 key into out.  Returns 0, or -1 when z85 is not
 * 40 Z85 characters. */
int hb_curve_key_decode(const char *z85, unsigned char out[HB_CURVE_KEY_BYTES]);

/* The keys a CURVE client connects with: the server's public key and its
 * own pair. */
typedef struct hb_curve_client {
    hb_curve_key server; /* public key of the broker */
    hb_curve_key own;    /* this client's (or worker's) key pair */
} hb_curve_client;

/* Read server_file (the broker's public key, HB_CURVE_PUBLIC) and
 * secret_file (this side's pair, HB_CURVE_SECRET) into c.  Returns 0 or
 * an error as hb_curve_key_read, the message naming the file. */
int hb_curve_client_load(hb_curve_client *c, const char *server_file,
                         const char *secret_file, hb_error *err);

/* Make the ZeroMQ socket sock a CURVE client with c's keys; it applies to
 * the socket's later zmq_connect calls.  Returns 0, or HB_EINVAL with err
 * (libzmq without CURVE). */
int hb_curve_client_apply(void *sock, const hb_curve_client *c, hb_error *err);

/* Why a client gets no answer from a server with CURVE, or one without
 * from a server with it.  libzmq retries a failed handshake quietly, so
 * without this a client with the wrong key, or none, just waits.
 * hb_curve_watch starts a monitor on sock (zmq_socket_monitor) and
 * returns the ZeroMQ socket, in ctx, that its handshake events arrive on
 * (poll it for ZMQ_POLLIN), or NULL with err.  Stop it with
 * hb_curve_unwatch(sock, watch) before closing sock; NULL watch is fine. */
void *hb_curve_watch(void *ctx, void *sock, hb_error *err);
void hb_curve_unwatch(void *sock, void *watch);

typedef enum hb_curve_event {
    HB_CURVE_NONE = 0,     /* no event waiting */
    HB_CURVE_ACCEPTED = 1, /* a handshake succeeded */
    HB_CURVE_REFUSED = 2,  /* the server refused this side's key (ZAP) */
    HB_CURVE_MISMATCH = 3, /* one side uses CURVE and the other not, or the
                              handshake was garbled */
    HB_CURVE_CLOSED = 4,   /* the server closed the connection during the
                              handshake: what a wrong server key makes it do */
} hb_curve_event;

/* Read one waiting event of watch, without waiting.  For a failure, why
 * gets a sentence saying what went wrong and what to check (cap bytes);
 * keyed says whether this side connects with CURVE keys, since a server
 * that hangs up mid-handshake means a wrong server key to a side with
 * keys and a server that wants keys to one without. */
hb_curve_event hb_curve_watch_read(void *watch, int keyed, char *why, size_t cap);

#endif
