/* Prints the README's options table from the code's (tests/run.sh diffs
 * the two), and, linked with libhakmem.a, serves as the program whose
 * start-up reads the options in the secure-execution test. */
#include "internal.h"
#include "options.h"

#include <stdio.h>

int main(void) {
  for (unsigned i = 0; i < OPT_COUNT; i++) {
    const hak_option_desc_t *d = &hak_option_table[i];
    printf("| `%s` | %ld | %ld..%ld | %s |\n", d->name, d->def, d->min, d->max, d->doc);
  }
  return 0;
}
