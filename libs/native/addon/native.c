// What Node lacks, and nothing else: peer credentials of a Unix socket (SO_PEERCRED), advisory
// file locks (flock), shared file mappings (mmap) and named pipes (mkfifo). Every failure becomes a JS exception with
// errno's text; a bad argument becomes a TypeError, never a crash.
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <node_api.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>

#define CHECK(env, call)                                   \
  do {                                                     \
    if ((call) != napi_ok) {                               \
      napi_throw_error((env), NULL, "N-API call failed");  \
      return NULL;                                         \
    }                                                      \
  } while (0)

static napi_value throw_errno(napi_env env, const char *what, int err) {
  char message[256];
  snprintf(message, sizeof message, "%s: %s", what, strerror(err));
  napi_throw_error(env, NULL, message);
  return NULL;
}

// Reads one argument that must be an integer file descriptor in [0, INT_MAX]; throws a TypeError
// otherwise (NaN, 1.5 or 2**40 would silently become another fd through napi_get_value_int32).
static int fd_argument(napi_env env, napi_callback_info info, int32_t *fd) {
  size_t argc = 1;
  napi_value argv[1];
  napi_valuetype type;
  double value;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) {
    napi_throw_error(env, NULL, "N-API call failed: napi_get_cb_info");
    return 0;
  }
  if (argc < 1 || napi_typeof(env, argv[0], &type) != napi_ok || type != napi_number) {
    napi_throw_type_error(env, NULL, "expected a file descriptor (number)");
    return 0;
  }
  if (napi_get_value_double(env, argv[0], &value) != napi_ok) {
    napi_throw_type_error(env, NULL, "expected a file descriptor (number)");
    return 0;
  }
  if (!(value >= 0 && value <= INT_MAX) || value != (double)(int32_t)value) {
    napi_throw_type_error(env, NULL, "expected a file descriptor: an integer >= 0");
    return 0;
  }
  *fd = (int32_t)value;
  return 1;
}

static napi_value set_int(napi_env env, napi_value obj, const char *name, int64_t value) {
  napi_value v;
  if (napi_create_int64(env, value, &v) != napi_ok) return NULL;
  if (napi_set_named_property(env, obj, name, v) != napi_ok) return NULL;
  return obj;
}

// peerCredentials(fd) -> { pid, uid, gid }
static napi_value peer_credentials(napi_env env, napi_callback_info info) {
  int32_t fd;
  if (!fd_argument(env, info, &fd)) return NULL;
  int domain;
  socklen_t domain_len = sizeof domain;
  if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &domain_len) != 0) return throw_errno(env, "getsockopt(SO_DOMAIN)", errno);
  if (domain != AF_UNIX) {
    napi_throw_error(env, NULL, "getsockopt(SO_PEERCRED): not a Unix-domain socket");
    return NULL;
  }
  struct ucred cred;
  socklen_t len = sizeof cred;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return throw_errno(env, "getsockopt(SO_PEERCRED)", errno);
  napi_value result;
  CHECK(env, napi_create_object(env, &result));
  if (!set_int(env, result, "pid", cred.pid) || !set_int(env, result, "uid", cred.uid) || !set_int(env, result, "gid", cred.gid)) {
    napi_throw_error(env, NULL, "N-API call failed");
    return NULL;
  }
  return result;
}

// lockFile(fd) -> true if the exclusive lock was taken, false if another process holds it.
static napi_value lock_file(napi_env env, napi_callback_info info) {
  int32_t fd;
  if (!fd_argument(env, info, &fd)) return NULL;
  int taken = 1;
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK) return throw_errno(env, "flock", errno);
    taken = 0;
  }
  napi_value result;
  CHECK(env, napi_get_boolean(env, taken, &result));
  return result;
}

static napi_value unlock_file(napi_env env, napi_callback_info info) {
  int32_t fd;
  if (!fd_argument(env, info, &fd)) return NULL;
  if (flock(fd, LOCK_UN) != 0) return throw_errno(env, "flock", errno);
  return NULL;
}

// A mapping handed to JS as an external ArrayBuffer. It is unmapped once: by unmapFile (which
// also detaches the buffer, so no view can touch freed memory) or by the GC's finalizer.
typedef struct {
  void *addr;
  size_t length;
} mapping_t;

static void finalize_mapping(napi_env env, void *data, void *hint) {
  (void)env;
  (void)data;
  mapping_t *m = hint;
  if (m->addr != NULL) munmap(m->addr, m->length);
  free(m);
}

// mapFile(fd, length) -> ArrayBuffer over mmap(MAP_SHARED) of the file's first `length` bytes.
static napi_value map_file(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_valuetype t0, t1;
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2 || napi_typeof(env, argv[0], &t0) != napi_ok || napi_typeof(env, argv[1], &t1) != napi_ok || t0 != napi_number || t1 != napi_number) {
    napi_throw_type_error(env, NULL, "expected (fd: number, length: number)");
    return NULL;
  }
  int32_t fd;
  int64_t length;
  CHECK(env, napi_get_value_int32(env, argv[0], &fd));
  CHECK(env, napi_get_value_int64(env, argv[1], &length));
  if (fd < 0 || length <= 0) {
    napi_throw_type_error(env, NULL, "expected a file descriptor >= 0 and a length > 0");
    return NULL;
  }
  void *addr = mmap(NULL, (size_t)length, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (addr == MAP_FAILED) return throw_errno(env, "mmap", errno);
  mapping_t *m = malloc(sizeof *m);
  if (m == NULL) {
    munmap(addr, (size_t)length);
    return throw_errno(env, "malloc", ENOMEM);
  }
  m->addr = addr;
  m->length = (size_t)length;
  napi_value buffer;
  if (napi_create_external_arraybuffer(env, addr, (size_t)length, finalize_mapping, m, &buffer) != napi_ok) {
    munmap(addr, (size_t)length);
    free(m);
    napi_throw_error(env, NULL, "cannot create an external ArrayBuffer");
    return NULL;
  }
  // The finalizer needs the mapping; unmapFile finds it through this wrap.
  if (napi_wrap(env, buffer, m, NULL, NULL, NULL) != napi_ok) {
    napi_throw_error(env, NULL, "cannot attach the mapping to its ArrayBuffer");
    return NULL;
  }
  return buffer;
}

// unmapFile(buffer): munmap now and detach the buffer (its views become empty).
static napi_value unmap_file(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  bool is_ab = false;
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1 || napi_is_arraybuffer(env, argv[0], &is_ab) != napi_ok || !is_ab) {
    napi_throw_type_error(env, NULL, "expected an ArrayBuffer made by mapFile");
    return NULL;
  }
  mapping_t *m = NULL;
  if (napi_unwrap(env, argv[0], (void **)&m) != napi_ok || m == NULL) {
    napi_throw_type_error(env, NULL, "expected an ArrayBuffer made by mapFile");
    return NULL;
  }
  if (m->addr == NULL) return NULL;
  // Forget the address first: the finalizer may run once the buffer is detached.
  void *addr = m->addr;
  m->addr = NULL;
  CHECK(env, napi_detach_arraybuffer(env, argv[0]));
  if (munmap(addr, m->length) != 0) return throw_errno(env, "munmap", errno);
  return NULL;
}

// makeFifo(path, mode): mkfifo(3). The path is a string without NUL; mode an integer in 0..0777.
static napi_value make_fifo(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_valuetype type;
  char path[PATH_MAX];
  size_t length;
  uint32_t mode;
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2 || napi_typeof(env, argv[0], &type) != napi_ok || type != napi_string) {
    napi_throw_type_error(env, NULL, "makeFifo: expected a path (string) and a mode");
    return NULL;
  }
  if (napi_get_value_string_utf8(env, argv[0], path, sizeof path, &length) != napi_ok || length == 0 || length >= sizeof path - 1 || strlen(path) != length) {
    napi_throw_type_error(env, NULL, "makeFifo: the path must be a non-empty string shorter than PATH_MAX, without NUL");
    return NULL;
  }
  if (napi_typeof(env, argv[1], &type) != napi_ok || type != napi_number || napi_get_value_uint32(env, argv[1], &mode) != napi_ok || mode > 0777) {
    napi_throw_type_error(env, NULL, "makeFifo: the mode must be an integer from 0 to 0o777");
    return NULL;
  }
  if (mkfifo(path, (mode_t)mode) != 0) return throw_errno(env, "mkfifo", errno);
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"peerCredentials", NULL, peer_credentials, NULL, NULL, NULL, napi_default, NULL},
      {"lockFile", NULL, lock_file, NULL, NULL, NULL, napi_default, NULL},
      {"unlockFile", NULL, unlock_file, NULL, NULL, NULL, napi_default, NULL},
      {"mapFile", NULL, map_file, NULL, NULL, NULL, napi_default, NULL},
      {"unmapFile", NULL, unmap_file, NULL, NULL, NULL, napi_default, NULL},
      {"makeFifo", NULL, make_fifo, NULL, NULL, NULL, napi_default, NULL},
  };
  CHECK(env, napi_define_properties(env, exports, sizeof props / sizeof props[0], props));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
