/*
 * fileio.c: whole-file reads (or read-only maps) and atomic writes.  Nothing already written is
 * lost: a write goes to "PATH.tmp.PID", is flushed to disk, then renamed
 * over PATH, so a reader sees the old file or the new one, never a part.
 */
#define _DEFAULT_SOURCE /* MAP_POPULATE */
#include "ir/ir.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* Opens a regular file of at most max bytes; *fd and *size on success. */
static Rc open_checked(const char *path, size_t max, int *fd, size_t *size, Diag *d) {
  *fd = open(path, O_RDONLY);
  if (*fd < 0) {
    diag_error(d, NULL, "cannot open '%s': %s", path, strerror(errno));
    return RC_BADINPUT;
  }
  struct stat st;
  if (fstat(*fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    diag_error(d, NULL, "'%s' is not a regular file", path);
    close(*fd);
    return RC_BADINPUT;
  }
  if ((uint64_t)st.st_size > max) {
    diag_error(d, NULL, "'%s' is %lld bytes, more than the %zu accepted", path,
               (long long)st.st_size, max);
    close(*fd);
    return RC_BADINPUT;
  }
  *size = (size_t)st.st_size;
  return RC_OK;
}

Rc file_read_all(const char *path, size_t max, uint8_t **buf, size_t *len, Diag *d) {
  *buf = NULL;
  *len = 0;
  int fd;
  size_t n;
  Rc rc = open_checked(path, max, &fd, &n, d);
  if (rc != RC_OK) return rc;
  uint8_t *p = xmalloc(n + 1); /* n + 1 <= max + 1: open_checked bounds n */
  if (!p) {
    diag_error(d, NULL, "out of memory reading '%s'", path);
    close(fd);
    return RC_INTERNAL;
  }
  size_t got = 0;
  while (got < n) {
    ssize_t k = read(fd, p + got, n - got);
    if (k <= 0) {
      diag_error(d, NULL, "cannot read '%s': %s", path, k < 0 ? strerror(errno) : "short file");
      xfree(p);
      close(fd);
      return RC_BADINPUT;
    }
    got += (size_t)k;
  }
  close(fd);
  p[n] = 0; /* text readers may read it as a C string */
  *buf = p;
  *len = n;
  return RC_OK;
}

Rc file_write_atomic(const char *path, const void *buf, size_t len, Diag *d) {
  size_t n = strlen(path) + 32;
  char *tmp = xmalloc(n);
  if (!tmp) return RC_INTERNAL;
  snprintf(tmp, n, "%s.tmp.%ld", path, (long)getpid());
  FILE *f = fopen(tmp, "wb");
  if (!f) {
    diag_error(d, NULL, "cannot create '%s': %s", tmp, strerror(errno));
    xfree(tmp);
    return RC_BADINPUT;
  }
  bool ok = fwrite(buf, 1, len, f) == len && fflush(f) == 0 && fsync(fileno(f)) == 0;
  int err = errno;
  ok = (fclose(f) == 0) && ok;
  if (!ok || rename(tmp, path) != 0) {
    if (ok) err = errno;
    diag_error(d, NULL, "cannot write '%s': %s", path, strerror(err));
    remove(tmp);
    xfree(tmp);
    return RC_BADINPUT;
  }
  xfree(tmp);
  return RC_OK;
}

Rc file_map(const char *path, size_t max, const uint8_t **buf, size_t *len, Diag *d) {
  *buf = NULL;
  *len = 0;
  int fd;
  size_t n;
  Rc rc = open_checked(path, max, &fd, &n, d);
  if (rc != RC_OK) return rc;
  if (n == 0) { /* nothing to map; the caller reports an empty file */
    close(fd);
    return RC_OK;
  }
#ifndef MAP_POPULATE
#define MAP_POPULATE 0
#endif
  void *p = mmap(NULL, n, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
  close(fd);
  if (p == MAP_FAILED) {
    diag_error(d, NULL, "cannot map '%s': %s", path, strerror(errno));
    return RC_BADINPUT;
  }
  *buf = p;
  *len = n;
  return RC_OK;
}

void file_unmap(const uint8_t *buf, size_t len) {
  if (buf && len) munmap((void *)(uintptr_t)buf, len);
}
