/*
 * replay.c: the main() of a harness in the normal builds (gcc, release and
 * ASan+UBSan), where libFuzzer is not linked: runs LLVMFuzzerTestOneInput
 * once on every file named, or in every folder named (not recursively).
 * This is how every corpus input and every regression input of
 * tests/fuzz/HARNESS/ runs under ctest without clang (fuzz.replay.HARNESS).
 *
 *   fuzz_replay_HARNESS DIR|FILE ...
 */
#include "tests/fuzz/fuzz.h" /* first: it asks for _GNU_SOURCE */

#include <dirent.h>
#include <sys/stat.h>

static int run_file(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    fprintf(stderr, "replay: cannot open %s\n", path);
    return 1;
  }
  uint8_t *buf = NULL;
  size_t len = 0, cap = 0, got;
  do {
    if (len == cap) {
      cap = cap ? 2 * cap : 65536;
      uint8_t *nb = realloc(buf, cap);
      if (!nb) abort();
      buf = nb;
    }
    got = fread(buf + len, 1, cap - len, f);
    len += got;
  } while (got > 0);
  fclose(f);
  /* A copy of exactly len bytes, so ASan sees a read past the input. */
  uint8_t *in = malloc(len ? len : 1);
  if (!in) abort();
  memcpy(in, buf, len);
  free(buf);
  LLVMFuzzerTestOneInput(in, len);
  free(in);
  return 0;
}

int main(int argc, char **argv) {
  int files = 0, bad = 0;
  for (int i = 1; i < argc; i++) {
    struct stat st;
    if (stat(argv[i], &st) != 0) {
      fprintf(stderr, "replay: no such file or folder: %s\n", argv[i]);
      return 2;
    }
    if (!S_ISDIR(st.st_mode)) {
      bad += run_file(argv[i]), files++;
      continue;
    }
    struct dirent **ents;
    int n = scandir(argv[i], &ents, NULL, alphasort);
    for (int k = 0; k < n; k++) {
      char path[4096];
      snprintf(path, sizeof path, "%s/%s", argv[i], ents[k]->d_name);
      size_t nl = strlen(ents[k]->d_name);
      bool note = nl > 5 && strcmp(ents[k]->d_name + nl - 5, ".note") == 0;
      if (ents[k]->d_name[0] != '.' && !note && stat(path, &st) == 0 && S_ISREG(st.st_mode))
        bad += run_file(path), files++;
      free(ents[k]);
    }
    free(ents);
  }
  printf("replay: %d inputs run, %d unreadable\n", files, bad);
  return bad ? 1 : 0;
}
