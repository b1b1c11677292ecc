# hakmem: make | make test | make bench | make install PREFIX=/usr/local
CC      ?= cc
CXX     ?= c++
PREFIX  ?= /usr/local
BUILD   ?= build
WERROR  ?= 0

CFLAGS_BASE = -std=c11 -O2 -g -Wall -Wextra -fPIC -pthread -D_GNU_SOURCE \
  -fvisibility=hidden -ftls-model=initial-exec -fno-semantic-interposition \
  -fno-builtin-malloc -fno-builtin-free -fno-builtin-calloc -fno-builtin-realloc
ifeq ($(WERROR),1)
CFLAGS_BASE += -Werror
endif
CFLAGS ?=
ALL_CFLAGS = $(CFLAGS_BASE) $(CFLAGS)

CORE = os error registry options stats superslab spill tiny large huge heap alloc debug verify init
CORE_OBJS = $(CORE:%=$(BUILD)/obj/%.o)
OVERRIDE_OBJ = $(BUILD)/obj/override.o
HEADERS = $(wildcard src/*.h) include/hakmem.h

LIBS = $(BUILD)/libhakmem.so $(BUILD)/libhakmem.a $(BUILD)/libhakmem-api.a $(BUILD)/hakmem $(BUILD)/hakmem.pc

.PHONY: all test bench install clean programs debug
all: $(LIBS) programs

# The fail-fast build (README, "Debug build"): the same libraries and
# programs under build/debug, every operation checked.
debug:
	$(MAKE) BUILD=$(BUILD)/debug CFLAGS="-DHAK_DEBUG=1" all

# The flags an object was compiled with are part of what it depends on, so
# that a build directory never mixes objects of the debug and the default
# build (make debug, then make BUILD=build/debug without its flags).
$(BUILD)/obj/.flags: FORCE
	@mkdir -p $(dir $@)
	@echo '$(ALL_CFLAGS)' | cmp -s - $@ || echo '$(ALL_CFLAGS)' > $@

$(BUILD)/obj/%.o: src/%.c $(HEADERS) Makefile $(BUILD)/obj/.flags
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/libhakmem.so: $(CORE_OBJS) $(OVERRIDE_OBJ)
	$(CC) -shared -pthread -Wl,-Bsymbolic-functions -Wl,-z,now -Wl,-soname,libhakmem.so -o $@ $^

$(BUILD)/libhakmem.a: $(CORE_OBJS) $(OVERRIDE_OBJ)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/libhakmem-api.a: $(CORE_OBJS)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/hakmem: tools/hakmem.in
	@mkdir -p $(BUILD)
	sed 's|@LIBDIR@|$(abspath $(BUILD))|' $< > $@ && chmod +x $@

$(BUILD)/hakmem.pc: tools/hakmem.pc.in
	@mkdir -p $(BUILD)
	sed 's|@PREFIX@|$(PREFIX)|' $< > $@

# ---- test and benchmark programs
TEST_CFLAGS = -std=gnu11 -O2 -g -Wall -Wextra -pthread -Iinclude
TESTS_API = test_api test_internal test_stress test_misuse test_spill test_options
TESTS_PRELOAD = test_preload test_fork test_startup test_oom
PROGRAMS = $(TESTS_API:%=$(BUILD)/tests/%) $(TESTS_PRELOAD:%=$(BUILD)/tests/%) $(BUILD)/tests/test_failfast $(BUILD)/tests/test_stress_debug $(BUILD)/tests/options_table \
  $(BUILD)/tests/test_stress_ubsan $(BUILD)/tests/test_stress_tsan $(BUILD)/tests/fuzz_replay $(BUILD)/tests/fuzz_replay_debug \
  $(BUILD)/tests/test_cxx $(BUILD)/tests/libtlsdyn.so $(BUILD)/tests/libexitlate.so $(BUILD)/tests/test_static \
  $(BUILD)/bench/bench_random_mixed $(BUILD)/bench/bench_tiny_hot $(BUILD)/bench/bench_xthread \
  $(BUILD)/bench/bench_live $(BUILD)/bench/bench_mid_large_mt $(BUILD)/bench/bench_fragment \
  $(BUILD)/bench/bench_thread_churn $(BUILD)/bench/bench_larson $(BUILD)/bench/runstat $(BUILD)/bench/fastpath \
  $(BUILD)/bench/libprobe.so
programs: $(PROGRAMS)

$(BUILD)/tests/%: tests/%.c tests/check.h tests/shrink.h $(BUILD)/libhakmem-api.a
	@mkdir -p $(dir $@)
	$(CC) $(TEST_CFLAGS) -Isrc $< -o $@ $(BUILD)/libhakmem-api.a -ldl

$(BUILD)/tests/options_table: tests/options_table.c $(BUILD)/libhakmem.a
	@mkdir -p $(dir $@)
	$(CC) $(TEST_CFLAGS) -Isrc $< -o $@ $(BUILD)/libhakmem.a -ldl

# The misuse cases, and the stress test, against the debug build's library.
$(BUILD)/tests/test_failfast: tests/test_misuse.c tests/check.h tests/shrink.h $(BUILD)/debug/libhakmem-api.a
	@mkdir -p $(dir $@)
	$(CC) $(TEST_CFLAGS) -DFAILFAST -DHAK_DEBUG=1 -Isrc $< -o $@ $(BUILD)/debug/libhakmem-api.a -ldl

$(BUILD)/tests/test_stress_debug: tests/test_stress.c tests/check.h $(BUILD)/debug/libhakmem-api.a
	@mkdir -p $(dir $@)
	$(CC) $(TEST_CFLAGS) $< -o $@ $(BUILD)/debug/libhakmem-api.a -ldl

$(BUILD)/debug/libhakmem-api.a: FORCE
	$(MAKE) --no-print-directory BUILD=$(BUILD)/debug CFLAGS="-DHAK_DEBUG=1" $@
FORCE:

# The fuzzing harness as a plain program: replays the corpus and the
# regression inputs (tests/fuzz.sh fuzzes with clang's libFuzzer).
$(BUILD)/tests/fuzz_replay: tests/fuzz_hak.c $(BUILD)/libhakmem-api.a
	@mkdir -p $(dir $@)
	$(CC) $(TEST_CFLAGS) -DFUZZ_REPLAY $< -o $@ $(BUILD)/libhakmem-api.a -ldl

$(BUILD)/tests/fuzz_replay_debug: tests/fuzz_hak.c $(BUILD)/debug/libhakmem-api.a
	@mkdir -p $(dir $@)
	$(CC) $(TEST_CFLAGS) -DFUZZ_REPLAY $< -o $@ $(BUILD)/debug/libhakmem-api.a -ldl

# The stress test against hakmem built (and linked) with a sanitizer:
# UndefinedBehaviorSanitizer, and separately ThreadSanitizer.  Through the
# hak_ API, so that the sanitizer's own malloc stays in place.
SAN_ubsan = -fsanitize=undefined -fno-sanitize-recover=all
SAN_tsan  = -fsanitize=thread
$(BUILD)/tests/test_stress_ubsan $(BUILD)/tests/test_stress_tsan: $(BUILD)/tests/test_stress_%: tests/test_stress.c tests/check.h $(BUILD)/%/libhakmem-api.a
	@mkdir -p $(dir $@)
	$(CC) $(TEST_CFLAGS) $(SAN_$*) $< -o $@ $(BUILD)/$*/libhakmem-api.a -ldl

$(BUILD)/ubsan/libhakmem-api.a $(BUILD)/tsan/libhakmem-api.a: $(BUILD)/%/libhakmem-api.a: FORCE
	$(MAKE) --no-print-directory BUILD=$(BUILD)/$* CFLAGS="$(SAN_$*)" $@

# Programs run with LD_PRELOAD: linked against nothing of hakmem's.
$(BUILD)/tests/test_preload $(BUILD)/tests/test_fork $(BUILD)/tests/test_startup $(BUILD)/tests/test_oom: $(BUILD)/tests/%: tests/%.c tests/check.h
	@mkdir -p $(dir $@)
	$(CC) $(TEST_CFLAGS) $< -o $@ -ldl

$(BUILD)/tests/libtlsdyn.so: tests/tlsdyn.c
	@mkdir -p $(dir $@)
	$(CC) $(TEST_CFLAGS) -fPIC -shared -ftls-model=global-dynamic $< -o $@

$(BUILD)/tests/libexitlate.so: tests/exitlate.c
	@mkdir -p $(dir $@)
	$(CC) $(TEST_CFLAGS) -fPIC -shared $< -o $@

$(BUILD)/tests/test_cxx: tests/test_cxx.cpp
	@mkdir -p $(dir $@)
	$(CXX) -std=c++17 -O2 -g -Wall -Wextra -pthread $< -o $@ -ldl

# Linked in statically: malloc of the program and of libc come from hakmem.
$(BUILD)/tests/test_static: tests/test_preload.c tests/check.h $(BUILD)/libhakmem.a
	@mkdir -p $(dir $@)
	$(CC) $(TEST_CFLAGS) -DHAKMEM_STATIC_TEST $< -o $@ $(BUILD)/libhakmem.a -ldl

$(BUILD)/bench/libprobe.so: bench/probe.c bench/common.h
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O2 -Wall -Wextra -fPIC -shared $< -o $@

$(BUILD)/bench/%: bench/%.c bench/common.h
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O2 -g -Wall -Wextra -pthread $< -o $@ -ldl

test: all
	@tests/run.sh $(BUILD)

# make bench [ONLY="name ..."] [BENCH_QUICK=1]: README, "Benchmarks".
bench: all
	@ONLY="$(ONLY)" BENCH_QUICK="$(BENCH_QUICK)" bench/run.sh $(BUILD)

install: $(BUILD)/libhakmem.so $(BUILD)/libhakmem.a $(BUILD)/libhakmem-api.a
	install -d $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -m 755 $(BUILD)/libhakmem.so $(DESTDIR)$(PREFIX)/lib/
	install -m 644 $(BUILD)/libhakmem.a $(BUILD)/libhakmem-api.a $(DESTDIR)$(PREFIX)/lib/
	install -m 644 include/hakmem.h $(DESTDIR)$(PREFIX)/include/
	sed 's|@PREFIX@|$(PREFIX)|' tools/hakmem.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/hakmem.pc
	sed 's|@LIBDIR@|$(PREFIX)/lib|' tools/hakmem.in > $(DESTDIR)$(PREFIX)/bin/hakmem
	chmod 755 $(DESTDIR)$(PREFIX)/bin/hakmem

clean:
	rm -rf $(BUILD)
