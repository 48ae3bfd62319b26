/*
 * endpoint.c - endpoint names and exposure (see endpoint.h).
 *
 * Loopback is judged from the endpoint's text alone, without resolving
 * names: a host name other than "localhost" might resolve anywhere, so it
 * counts as exposed.  That errs towards a warning, never towards silence.
 */
#include "endpoint.h"

#include <stdio.h>
#include <string.h>

int hb_endpoint_control_default(const char *runtime_dir, unsigned long uid, char *dir,
                                size_t dir_cap, char *endpoint, size_t ep_cap,
                                hb_error *err)
{
    int n;
    if (runtime_dir && runtime_dir[0] == '/')
        n = snprintf(dir, dir_cap, "%s/hubaod", runtime_dir);
    else
        n = snprintf(dir, dir_cap, "/tmp/hubaod-%lu", uid);
    if (n < 0 || (size_t)n >= dir_cap ||
        (size_t)n + sizeof "/control" - 1 > HB_ENDPOINT_IPC_PATH_MAX)
        return hb_error_set(err, HB_EINVAL,
                            "the default control socket under XDG_RUNTIME_DIR (%.200s) "
                            "would be longer than a unix socket path may be (%d bytes); "
                            "give --control ENDPOINT",
                            runtime_dir ? runtime_dir : "", HB_ENDPOINT_IPC_PATH_MAX);
    n = snprintf(endpoint, ep_cap, "ipc://%s/control", dir);
    if (n < 0 || (size_t)n >= ep_cap)
        return hb_error_set(err, HB_EINVAL, "control endpoint name too long");
    return 0;
}

const char *hb_endpoint_ipc_path(const char *endpoint)
{
    if (strncmp(endpoint, "ipc://", 6) != 0 || endpoint[6] == '@')
        return NULL;
    return endpoint + 6;
}

/* 1 if host (len bytes, brackets already removed) names the loopback. */
static int loopback_host(const char *host, size_t len)
{
    if ((len == 9 && strncmp(host, "localhost", 9) == 0) ||
        (len == 2 && strncmp(host, "lo", 2) == 0) ||
        (len == 3 && strncmp(host, "::1", 3) == 0))
        return 1;
    /* 127.x.y.z: four numbers, the first 127 */
    if (len < 9 || strncmp(host, "127.", 4) != 0)
        return 0;
    int dots = 0, digits = 0;
    for (size_t i = 4; i < len; i++) {
        if (host[i] == '.') {
            if (!digits)
                return 0;
            dots++;
            digits = 0;
        } else if (host[i] >= '0' && host[i] <= '9' && digits < 3) {
            digits++;
        } else {
            return 0;
        }
    }
    return dots == 2 && digits > 0;
}

const char *hb_endpoint_exposure(const char *endpoint)
{
    if (strncmp(endpoint, "ipc://@", 7) == 0)
        return "an abstract unix socket has no file permissions: any process on this "
               "host can connect";
    if (strncmp(endpoint, "ipc://", 6) == 0 || strncmp(endpoint, "inproc://", 9) == 0)
        return NULL;
    if (strncmp(endpoint, "tcp://", 6) != 0)
        return "this transport has no access control: anyone who can connect can "
               "reload the models and read the stats";
    const char *host = endpoint + 6;
    const char *semi = strchr(host, ';'); /* "source;destination" */
    if (semi)
        host = semi + 1;
    const char *end = strrchr(host, ':');
    if (!end)
        end = host + strlen(host);
    if (*host == '[' && end > host && end[-1] == ']') {
        host++;
        end--;
    }
    if (loopback_host(host, (size_t)(end - host)))
        return NULL;
    return "tcp on an address other than loopback: anyone who can connect to it can "
           "reload the models and read the stats; bind it to 127.0.0.1";
}
