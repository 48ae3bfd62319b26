/*
 * curvekey.c - CURVE key files (see curvekey.h).
 *
 * The format is CZMQ's certificate format cut down to what a key needs,
 * read leniently where CZMQ's own files differ (metadata names, quotes)
 * and strictly where a mistake would cost security or an afternoon: a
 * key that is not 40 Z85 characters, a public key that does not belong
 * to the secret key beside it, a secret key in a file meant to be handed
 * out, or a secret key file that other users may read.
 *
 * Buffers that held a secret key's text are wiped (explicit_bzero) before
 * they are freed or go out of scope.
 */
#include "curvekey.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zmq.h>

enum { MAX_FILE = 65536 };

int hb_curve_available(void)
{
    return zmq_has("curve") ? 1 : 0;
}

static int no_curve(hb_error *err)
{
    return hb_error_set(err, HB_EINVAL,
                        "this libzmq was built without CURVE (zmq_has(\"curve\") is "
                        "false); install one built with libsodium, such as Debian's "
                        "libzmq5");
}

int hb_curve_keypair(hb_curve_key *key, hb_error *err)
{
    memset(key, 0, sizeof *key);
    if (!hb_curve_available() || zmq_curve_keypair(key->public_key, key->secret_key) != 0)
        return no_curve(err);
    return 0;
}

int hb_curve_key_decode(const char *z85, unsigned char out[HB_CURVE_KEY_BYTES])
{
    if (strlen(z85) != HB_CURVE_Z85_LEN)
        return -1;
    return zmq_z85_decode(out, z85) ? 0 : -1;
}

/* Strip spaces and tabs from both ends of [*s, *e). */
static void trim(const char **s, const char **e)
{
    while (*s < *e && (**s == ' ' || **s == '\t'))
        (*s)++;
    while (*e > *s && ((*e)[-1] == ' ' || (*e)[-1] == '\t' || (*e)[-1] == '\r'))
        (*e)--;
}

/* Copy the key value [s, e) of name (quotes already removed) into out,
 * checking that it is a key.  Returns 0 or HB_EFORMAT. */
static int take_key(const char *s, const char *e, const char *name, const char *file,
                    int line, char out[HB_CURVE_Z85_LEN + 1], hb_error *err)
{
    if (out[0])
        return hb_error_set(err, HB_EFORMAT, "%s:%d: %s is given twice", file, line,
                            name);
    size_t len = (size_t)(e - s);
    unsigned char raw[HB_CURVE_KEY_BYTES];
    if (len == HB_CURVE_Z85_LEN) {
        memcpy(out, s, len);
        out[len] = '\0';
        if (hb_curve_key_decode(out, raw) == 0) {
            explicit_bzero(raw, sizeof raw);
            return 0;
        }
        explicit_bzero(out, HB_CURVE_Z85_LEN + 1);
    }
    return hb_error_set(err, HB_EFORMAT,
                        "%s:%d: %s is not a CURVE key: it must be %d Z85 characters "
                        "(a %d-byte key), and this is %zu characters%s",
                        file, line, name, HB_CURVE_Z85_LEN, HB_CURVE_KEY_BYTES, len,
                        len == HB_CURVE_Z85_LEN ? " that are not all Z85" : "");
}

/* Parse one non-blank, non-comment line [s, e) into key.  Returns 0 or
 * HB_EFORMAT. */
static int parse_line(const char *s, const char *e, const char *file, int line,
                      hb_curve_key *key, hb_error *err)
{
    const char *eq = memchr(s, '=', (size_t)(e - s));
    if (!eq) {
        /* a section name ("metadata", "curve") is one word */
        for (const char *p = s; p < e; p++)
            if (*p == ' ' || *p == '\t')
                return hb_error_set(err, HB_EFORMAT,
                                    "%s:%d: expected `name = \"value\"` or a section "
                                    "name; is this a key file (hubao keygen writes "
                                    "them)?",
                                    file, line);
        return 0;
    }
    const char *ns = s, *ne = eq, *vs = eq + 1, *ve = e;
    trim(&ns, &ne);
    trim(&vs, &ve);
    if (ns == ne)
        return hb_error_set(err, HB_EFORMAT, "%s:%d: a value without a name", file, line);
    if (vs < ve && (*vs == '"' || *vs == '\'')) {
        if (ve - vs < 2 || ve[-1] != *vs)
            return hb_error_set(err, HB_EFORMAT,
                                "%s:%d: the value's closing %c is missing", file, line,
                                *vs);
        vs++;
        ve--;
    }
    size_t nlen = (size_t)(ne - ns);
    if (nlen == 10 && memcmp(ns, "public-key", 10) == 0)
        return take_key(vs, ve, "public-key", file, line, key->public_key, err);
    if (nlen == 10 && memcmp(ns, "secret-key", 10) == 0)
        return take_key(vs, ve, "secret-key", file, line, key->secret_key, err);
    return 0; /* metadata: not ours */
}

int hb_curve_key_parse(const char *text, size_t len, const char *name, hb_curve_kind kind,
                       hb_curve_key *key, hb_error *err)
{
    memset(key, 0, sizeof *key);
    if (memchr(text, '\0', len))
        return hb_error_set(err, HB_EFORMAT, "%s: not a key file (it holds a NUL byte)",
                            name);
    const char *p = text, *end = text + len;
    int line = 0;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *s = p, *e = nl ? nl : end;
        p = nl ? nl + 1 : end;
        line++;
        trim(&s, &e);
        if (s == e || *s == '#')
            continue;
        if (parse_line(s, e, name, line, key, err) != 0) {
            explicit_bzero(key, sizeof *key);
            return HB_EFORMAT;
        }
    }
    int rc = 0;
    if (kind == HB_CURVE_PUBLIC) {
        if (key->secret_key[0])
            rc = hb_error_set(err, HB_EFORMAT,
                              "%s holds a secret key; give the public key file here "
                              "(the .pub that hubao keygen wrote beside it) and keep "
                              "the secret one private",
                              name);
        else if (!key->public_key[0])
            rc = hb_error_set(err, HB_EFORMAT,
                              "%s has no public-key line; is it a key file (hubao "
                              "keygen writes them)?",
                              name);
    } else if (!key->secret_key[0]) {
        rc = hb_error_set(err, HB_EFORMAT,
                          "%s has no secret-key line: it is a public key; give the "
                          ".key file that hubao keygen wrote beside it",
                          name);
    } else {
        char derived[HB_CURVE_Z85_LEN + 1];
        if (!hb_curve_available() || zmq_curve_public(derived, key->secret_key) != 0)
            rc = no_curve(err);
        else if (key->public_key[0] && strcmp(derived, key->public_key) != 0)
            rc = hb_error_set(err, HB_EFORMAT,
                              "%s: its public-key does not belong to its secret-key; "
                              "the file was edited or put together from two keys",
                              name);
        else
            memcpy(key->public_key, derived, sizeof derived);
    }
    if (rc != 0)
        explicit_bzero(key, sizeof *key);
    return rc;
}

int hb_curve_key_read(const char *path, hb_curve_kind kind, hb_curve_key *key,
                      hb_error *err)
{
    memset(key, 0, sizeof *key);
    /* O_NONBLOCK: a FIFO put where a key belongs must not hang start-up */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return hb_error_set(err, errno == ENOENT ? HB_ENOTFOUND : HB_EIO,
                            "%s: cannot open the key file: %s", path, strerror(errno));
    struct stat st;
    int rc = 0;
    if (fstat(fd, &st) != 0)
        rc = hb_error_set(err, HB_EIO, "%s: %s", path, strerror(errno));
    else if (!S_ISREG(st.st_mode))
        rc = hb_error_set(err, HB_EIO, "%s: not a regular file", path);
    else if (st.st_size > MAX_FILE)
        rc = hb_error_set(err, HB_EFORMAT, "%s: %lld bytes is too large for a key file",
                          path, (long long)st.st_size);
    if (rc != 0) {
        close(fd);
        return rc;
    }
    char buf[MAX_FILE + 1];
    size_t len = 0;
    ssize_t n;
    while (len < sizeof buf && (n = read(fd, buf + len, sizeof buf - len)) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = hb_error_set(err, HB_EIO, "%s: %s", path, strerror(errno));
            break;
        }
        len += (size_t)n;
    }
    close(fd);
    if (rc == 0 && len > MAX_FILE)
        rc = hb_error_set(err, HB_EFORMAT, "%s: too large for a key file", path);
    if (rc == 0)
        rc = hb_curve_key_parse(buf, len, path, kind, key, err);
    explicit_bzero(buf, len);
    /* after the parse, so that a public key given for a secret one is
     * called that, not a file with the wrong mode */
    if (rc == 0 && kind == HB_CURVE_SECRET && (st.st_mode & 077)) {
        explicit_bzero(key, sizeof *key);
        rc = hb_error_set(err, HB_EIO,
                          "%s: a secret key file must be readable by its owner only, "
                          "and this one is mode 0%o; chmod 600 it",
                          path, (unsigned)(st.st_mode & 0777));
    }
    return rc;
}

/* Create path (it must not exist) holding text, with exactly mode when
 * exact is set (else mode less the umask).  Returns 0 or HB_EIO. */
static int write_new(const char *path, const char *text, mode_t mode, int exact,
                     hb_error *err)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0)
        return hb_error_set(err, HB_EIO, "%s: %s%s", path, strerror(errno),
                            errno == EEXIST ? "; a key is never overwritten: remove it, "
                                              "or give another --out"
                                            : "");
    size_t len = strlen(text), done = 0;
    int rc = exact && fchmod(fd, mode) != 0 ? -1 : 0;
    while (rc == 0 && done < len) {
        ssize_t n = write(fd, text + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            rc = -1;
        else
            done += (size_t)n;
    }
    if (rc == 0)
        rc = fsync(fd);
    if (close(fd) != 0)
        rc = -1;
    if (rc != 0) {
        hb_error_set(err, HB_EIO, "%s: cannot write: %s", path, strerror(errno));
        unlink(path);
        return HB_EIO;
    }
    return 0;
}

static const char SECRET_HEAD[] =
    "#   CURVE secret key, written by hubao keygen (docs/protocol.md,\n"
    "#   \"Authentication (CURVE)\").  Keep it private: whoever holds this\n"
    "#   file can connect as its owner.  Hand out the .pub file instead.\n";

static const char PUBLIC_HEAD[] =
    "#   CURVE public key, written by hubao keygen (docs/protocol.md,\n"
    "#   \"Authentication (CURVE)\").  Safe to hand out: hubaod lets its\n"
    "#   owner in when it lies in --curve-clients or --curve-workers, and a\n"
    "#   broker's is what its clients give as --curve-server-key.\n";

int hb_curve_key_write(const hb_curve_key *key, const char *prefix, hb_error *err)
{
    char secret_path[PATH_MAX], public_path[PATH_MAX];
    int a = snprintf(secret_path, sizeof secret_path, "%s.key", prefix);
    int b = snprintf(public_path, sizeof public_path, "%s.pub", prefix);
    if (!prefix[0] || a < 0 || (size_t)a >= sizeof secret_path || b < 0 ||
        (size_t)b >= sizeof public_path)
        return hb_error_set(err, HB_EINVAL, "\"%.200s\" is not a usable file prefix",
                            prefix);
    if (strlen(key->public_key) != HB_CURVE_Z85_LEN ||
        strlen(key->secret_key) != HB_CURVE_Z85_LEN)
        return hb_error_set(err, HB_EINVAL, "not a key pair");
    /* both names must be free before either is written */
    struct stat st;
    if (lstat(public_path, &st) == 0)
        return hb_error_set(err, HB_EIO,
                            "%s already exists; a key is never overwritten: remove "
                            "it, or give another --out",
                            public_path);
    char text[1024];
    int n = snprintf(text, sizeof text,
                     "%s\nmetadata\ncurve\n    public-key = \"%s\"\n"
                     "    secret-key = \"%s\"\n",
                     SECRET_HEAD, key->public_key, key->secret_key);
    int rc = n > 0 && (size_t)n < sizeof text
                 ? write_new(secret_path, text, 0600, 1, err)
                 : hb_error_set(err, HB_EINVAL, "key too long");
    explicit_bzero(text, sizeof text);
    if (rc != 0)
        return rc;
    snprintf(text, sizeof text, "%s\nmetadata\ncurve\n    public-key = \"%s\"\n",
             PUBLIC_HEAD, key->public_key);
    if (write_new(public_path, text, 0644, 0, err) != 0) {
        unlink(secret_path);
        return HB_EIO;
    }
    return 0;
}

int hb_curve_client_load(hb_curve_client *c, const char *server_file,
                         const char *secret_file, hb_error *err)
{
    memset(c, 0, sizeof *c);
    if (hb_curve_key_read(server_file, HB_CURVE_PUBLIC, &c->server, err) != 0)
        return err ? err->code : HB_EFORMAT;
    if (hb_curve_key_read(secret_file, HB_CURVE_SECRET, &c->own, err) != 0) {
        explicit_bzero(c, sizeof *c);
        return err ? err->code : HB_EFORMAT;
    }
    return 0;
}

int hb_curve_client_apply(void *sock, const hb_curve_client *c, hb_error *err)
{
    if (!hb_curve_available())
        return no_curve(err);
    /* the Z85 forms: libzmq takes 40 characters (41 with the NUL) */
    if (zmq_setsockopt(sock, ZMQ_CURVE_SERVERKEY, c->server.public_key,
                       HB_CURVE_Z85_LEN + 1) != 0 ||
        zmq_setsockopt(sock, ZMQ_CURVE_PUBLICKEY, c->own.public_key,
                       HB_CURVE_Z85_LEN + 1) != 0 ||
        zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, c->own.secret_key,
                       HB_CURVE_Z85_LEN + 1) != 0)
        return hb_error_set(err, HB_EINVAL, "cannot set the CURVE keys: %s",
                            zmq_strerror(errno));
    return 0;
}

void *hb_curve_watch(void *ctx, void *sock, hb_error *err)
{
    /* one name per watched socket: its address is unique while it lives */
    char name[64];
    snprintf(name, sizeof name, "inproc://hubao-curve-watch-%p", sock);
    int events = ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
                 ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                 ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL;
    if (zmq_socket_monitor(sock, name, events) != 0) {
        hb_error_set(err, HB_EIO, "cannot watch the handshake: %s", zmq_strerror(errno));
        return NULL;
    }
    void *watch = zmq_socket(ctx, ZMQ_PAIR);
    int linger = 0;
    if (!watch || zmq_setsockopt(watch, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        zmq_connect(watch, name) != 0) {
        hb_error_set(err, HB_EIO, "cannot watch the handshake: %s", zmq_strerror(errno));
        if (watch)
            zmq_close(watch);
        zmq_socket_monitor(sock, NULL, 0);
        return NULL;
    }
    return watch;
}

void hb_curve_unwatch(void *sock, void *watch)
{
    if (!watch)
        return;
    zmq_socket_monitor(sock, NULL, 0);
    zmq_close(watch);
}

hb_curve_event hb_curve_watch_read(void *watch, int keyed, char *why, size_t cap)
{
    /* an event is two frames: 16-bit event and 32-bit value, then the
     * endpoint (zmq_socket_monitor(3)) */
    zmq_msg_t head, where;
    zmq_msg_init(&head);
    zmq_msg_init(&where);
    if (zmq_msg_recv(&head, watch, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&head);
        zmq_msg_close(&where);
        return HB_CURVE_NONE;
    }
    if (zmq_msg_more(&head))
        zmq_msg_recv(&where, watch, 0);
    uint16_t event = 0;
    uint32_t value = 0;
    if (zmq_msg_size(&head) == 6) {
        memcpy(&event, zmq_msg_data(&head), 2);
        memcpy(&value, (const char *)zmq_msg_data(&head) + 2, 4);
    }
    zmq_msg_close(&head);
    zmq_msg_close(&where);
    switch (event) {
    case ZMQ_EVENT_HANDSHAKE_SUCCEEDED: return HB_CURVE_ACCEPTED;
    case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH:
        if (value == 400)
            snprintf(why, cap,
                     "the server refused this side's CURVE key: its public key (the "
                     ".pub beside --curve-secret-key) is not among the keys the "
                     "server lets in");
        else
            snprintf(why, cap,
                     "the server could not check this side's key (ZAP status %u)",
                     (unsigned)value);
        return HB_CURVE_REFUSED;
    case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL:
        snprintf(why, cap, "%s",
                 value == ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH
                     ? "the server and this side disagree on CURVE: give "
                       "--curve-server-key and --curve-secret-key for an endpoint "
                       "where hubaod has --curve-clients or --curve-workers, and "
                       "neither elsewhere"
                     : "the handshake failed (a protocol error)");
        return HB_CURVE_MISMATCH;
    case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL:
        snprintf(why, cap, "%s",
                 keyed ? "the server closed the connection during the CURVE handshake; "
                         "is --curve-server-key the public key of this server?"
                       : "the server closed the connection during the handshake; if it "
                         "has CURVE on this endpoint, give --curve-server-key and "
                         "--curve-secret-key");
        return HB_CURVE_CLOSED;
    default: return HB_CURVE_NONE;
    }
}
