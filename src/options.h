/* The options table, shared with the test that checks the README against it. */
#ifndef HAKMEM_OPTIONS_H
#define HAKMEM_OPTIONS_H

typedef struct hak_option_desc {
  const char *name;
  long        def, min, max;
  const char *doc;
} hak_option_desc_t;

extern const hak_option_desc_t hak_option_table[];
void options_print(int fd);

#endif
