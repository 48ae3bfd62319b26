/*
 * control.c - make the control endpoint private, then bind it (see
 * control.h).
 *
 * The umask is process-wide: it is changed only around zmq_bind, which
 * creates an ipc socket file in the calling thread, at start-up before
 * any worker exists; libzmq's own threads create no files.
 */
#include "control.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <zmq.h>

#include "endpoint.h"

/* Create dir mode 0700 if it does not exist, then insist that it is a
 * directory of ours, or of owner (the user hubaod switches to: one left by
 * an earlier run), that nobody else can enter.
 *
 * Root binding for owner takes owner's directory back first: owner could
 * otherwise swap it for a link while root binds in it, and root would
 * make and hand over a socket wherever the link points.  Once root's, in
 * the sticky /tmp, only root can rename it; give_away returns it. */
static int prepare_dir(const char *dir, uid_t owner, hb_error *err)
{
    if (mkdir(dir, 0700) == 0) {
        if (chmod(dir, 0700) != 0) /* in case the umask took bits we need */
            return hb_error_set(err, HB_EIO, "cannot set the mode of %s: %s", dir,
                                strerror(errno));
    } else if (errno != EEXIST) {
        return hb_error_set(err, HB_EIO, "cannot create the control directory %s: %s",
                            dir, strerror(errno));
    }
    struct stat st;
    if (lstat(dir, &st) != 0)
        return hb_error_set(err, HB_EIO, "cannot check the control directory %s: %s", dir,
                            strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return hb_error_set(
            err, HB_EIO,
            "%s is not a directory (a symbolic link?): refusing to put the "
            "control socket there; remove it, or give --control",
            dir);
    if (st.st_uid == owner && owner != geteuid()) {
        if (lchown(dir, geteuid(), getegid()) != 0 || lstat(dir, &st) != 0)
            return hb_error_set(err, HB_EIO,
                                "cannot take the control directory %s back from uid "
                                "%lu to bind in it: %s",
                                dir, (unsigned long)owner, strerror(errno));
        if (!S_ISDIR(st.st_mode))
            return hb_error_set(err, HB_EIO,
                                "%s was replaced while hubaod took it back: refusing to "
                                "put the control socket there",
                                dir);
    }
    if (st.st_uid != geteuid())
        return hb_error_set(
            err, HB_EIO,
            "the control directory %s belongs to uid %lu, not to the user hubaod "
            "runs as (uid %lu): whoever made it could reach the control socket; "
            "remove it, or give --control",
            dir, (unsigned long)st.st_uid, (unsigned long)owner);
    if (st.st_mode & 077)
        return hb_error_set(err, HB_EIO,
                            "the control directory %s is open to group or others (mode "
                            "%04o): make it private (chmod 700 %s), or give --control",
                            dir, (unsigned)(st.st_mode & 07777), dir);
    return 0;
}

/* Refuse to bind over a live socket or a file that is not a socket; a
 * socket nobody listens on (left by a hubaod killed outright) is fine:
 * libzmq replaces it. */
static int check_free(const char *path, hb_error *err)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return 0;
    if (!S_ISSOCK(st.st_mode))
        return hb_error_set(
            err, HB_EIO,
            "%s exists and is not a socket: refusing to replace it with the "
            "control socket; give another --control",
            path);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return 0; /* zmq_bind will say what is wrong */
    int live = connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
    close(fd);
    if (live)
        return hb_error_set(
            err, HB_EIO,
            "another process (another hubaod?) is listening on the control "
            "socket %s; stop it, or give this one its own --control",
            path);
    return 0;
}

/* Give the bound socket at path (NULL: none) and the private directory
 * dir (NULL: the operator's, left alone) to owner's user, so that `hubao
 * control` run as that user can connect, and hubaod, once switched, can
 * remove the socket when it stops.  Never follows a symbolic link. */
static int give_away(const char *path, const char *dir, const hb_runas *owner,
                     hb_error *err)
{
    if (path && lchown(path, owner->uid, owner->gid) != 0)
        return hb_error_set(err, HB_EIO,
                            "cannot give the control socket %s to user %s: %s", path,
                            owner->name, strerror(errno));
    if (dir && lchown(dir, owner->uid, owner->gid) != 0)
        return hb_error_set(err, HB_EIO,
                            "cannot give the control directory %s to user %s: %s", dir,
                            owner->name, strerror(errno));
    return 0;
}

int hb_control_bind(void *sock, const char *endpoint, const char *private_dir,
                    const hb_runas *owner, hb_error *err)
{
    int switching = owner && owner->switching;
    const char *path = hb_endpoint_ipc_path(endpoint);
    if (path && strlen(path) > HB_ENDPOINT_IPC_PATH_MAX)
        return hb_error_set(err, HB_EIO,
                            "the control socket path %s is longer than a unix socket "
                            "path may be (%d bytes)",
                            path, HB_ENDPOINT_IPC_PATH_MAX);
    if (private_dir &&
        prepare_dir(private_dir, switching ? owner->uid : geteuid(), err) != 0)
        return HB_EIO;
    if (path && check_free(path, err) != 0)
        return HB_EIO;
    mode_t old = umask(077);
    int rc = zmq_bind(sock, endpoint);
    int e = errno;
    umask(old);
    if (rc != 0)
        return hb_error_set(err, HB_EIO, "cannot bind the control endpoint %s: %s",
                            endpoint, zmq_strerror(e));
    if (switching && give_away(path, private_dir, owner, err) != 0) {
        zmq_unbind(sock, endpoint);
        hb_control_unbind(endpoint);
        return HB_EIO;
    }
    return 0;
}

void hb_control_unbind(const char *endpoint)
{
    const char *path = hb_endpoint_ipc_path(endpoint);
    struct stat st;
    if (path && lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
        unlink(path);
}
