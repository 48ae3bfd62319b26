# Hubao - fraud, spam and rumour message classifier.
#
#   make run     install dependencies, build, start Hubao on the shipped models
#   make test    install dependencies, build, run every test (also under ASan+UBSan)
#   make models  retrain the shipped models from ../shared/data
#   make eval    evaluate the shipped models (and the scikit-learn peer)
#   make bench   measure throughput and latency against the scikit-learn peer
#   make fuzz    run every libFuzzer target FUZZ_SECONDS (default 60) on its seeds
#   make format-check  list the C files clang-format would change (make test runs it)
#   make format  rewrite them with clang-format and the committed .clang-format
#   make lint    clang-tidy and cppcheck; any finding fails (make test runs it)
#   make deb     build the Debian package build/hubao_VERSION_ARCH.deb (tools/debian)
#   make deb-test  install it in a fresh Debian 12 chroot and check it works
#
# Sources are found by wildcard: classifier/*.c form the library
# (libhubao.a), feeds/*.c the feed updater built on it (libhubao-feeds.a),
# classifier/service/*.c hubaod, tools/cli/*.c the `hubao` command,
# tests/unit/test_*.c one cmocka binary each.
#
# Dependencies point one way: feeds/ uses the library, never the reverse.
# The build holds it: a file under classifier/ is compiled with
# `-iquote classifier` only, so including a feeds/ header there fails;
# everything else (feeds/, tools, tests) gets `-iquote classifier -iquote
# feeds`.  hubaod and hubao-bench link libhubao.a alone; hubao, the feeds
# tests and the fuzz targets link libhubao-feeds.a before libhubao.a.

CC      ?= cc
PKGS    := libzmq libpcre2-8 libhs libcurl libutf8proc libpsl jansson libxxhash libmicrohttpd sqlite3 libcrypto opencc rdkafka
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wformat=2
# OpenCC's traditional-to-simplified configuration, by absolute path
OPENCC_T2S := $(shell pkg-config --variable=prefix opencc 2>/dev/null)/share/opencc/t2s.json
# An installed build names the directories its default paths live in
# (classifier/paths.h); debian/rules sets all three.  Left empty, as by
# make build, run and test, the defaults are relative to the working
# directory: the source tree's layout.
HB_DATADIR  :=
HB_CONFDIR  :=
HB_STATEDIR :=
INSTALL_DIRS := $(if $(HB_DATADIR),-DHB_DATADIR='"$(HB_DATADIR)"' \
                -DHB_CONFDIR='"$(HB_CONFDIR)"' -DHB_STATEDIR='"$(HB_STATEDIR)"')
# CPPFLAGS and LDFLAGS from the environment (dpkg-buildflags' hardening
# in the package build) are added to the project's own.
CPPFLAGS_ALL := -D_DEFAULT_SOURCE -D_POSIX_C_SOURCE=200809L $(PKG_CFLAGS) \
                -DHB_OPENCC_T2S='"$(OPENCC_T2S)"' $(INSTALL_DIRS) $(CPPFLAGS)
# quoted include paths by the folder of the source being compiled ($<)
LIB_IQUOTE  := -iquote classifier
APP_IQUOTE  := -iquote classifier -iquote feeds
IQUOTE = $(if $(filter classifier/%,$<),$(LIB_IQUOTE),$(APP_IQUOTE))
CFLAGS  ?= -O2 -g
CFLAGS_ALL := -std=c11 $(WARN) $(CFLAGS) $(CPPFLAGS_ALL)
# assert() checks invariants in the ASan, test and fuzz builds; the
# release build (build/obj) compiles them out
RELEASE := -DNDEBUG
LIBS    := $(PKG_LIBS) -lsvm -llinear -lm -lpthread
SAN     := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

# Quiet by default; `make V=1` shows the commands.
Q := $(if $(V),,@)

BUILD   := build
ASAN    := build/asan

LIB_SRC  := $(sort $(wildcard classifier/*.c))
FEEDS_SRC := $(sort $(wildcard feeds/*.c))
CLI_SRC  := $(sort $(wildcard tools/cli/*.c))
SVC_SRC  := $(sort $(wildcard classifier/service/*.c))
BENCH_SRC := $(sort $(wildcard tools/bench/*.c))
KAFKA_MOCK_SRC := $(sort $(wildcard tools/kafka/*.c))
TEST_SRC := $(sort $(wildcard tests/unit/test_*.c))

LIB_OBJ      := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
LIB_OBJ_ASAN := $(LIB_SRC:%.c=$(ASAN)/obj/%.o)
FEEDS_OBJ      := $(FEEDS_SRC:%.c=$(BUILD)/obj/%.o)
FEEDS_OBJ_ASAN := $(FEEDS_SRC:%.c=$(ASAN)/obj/%.o)
CLI_OBJ      := $(CLI_SRC:%.c=$(BUILD)/obj/%.o)
CLI_OBJ_ASAN := $(CLI_SRC:%.c=$(ASAN)/obj/%.o)
SVC_OBJ      := $(SVC_SRC:%.c=$(BUILD)/obj/%.o)
SVC_OBJ_ASAN := $(SVC_SRC:%.c=$(ASAN)/obj/%.o)
BENCH_OBJ    := $(BENCH_SRC:%.c=$(BUILD)/obj/%.o)
KAFKA_MOCK_OBJ := $(KAFKA_MOCK_SRC:%.c=$(BUILD)/obj/%.o)
TEST_BIN     := $(TEST_SRC:tests/unit/%.c=$(ASAN)/%)
# the tests that need feeds/: its own modules', and the blocklist's, which
# writes its copies as `hubao feeds update` does
TEST_BIN_FEEDS := $(filter $(ASAN)/test_feed% $(ASAN)/test_blocklist,$(TEST_BIN))

# libFuzzer targets (clang): the library and feeds/ built again with
# coverage instrumentation, one binary per tests/fuzz/fuzz_*.c
FUZZ_CC  := clang
FUZZ_SAN := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_OBJ := $(LIB_SRC:%.c=$(BUILD)/fuzz/obj/%.o)
FUZZ_FEEDS_OBJ := $(FEEDS_SRC:%.c=$(BUILD)/fuzz/obj/%.o)
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/fuzz/%)
FUZZ_SECONDS ?= 60

# every C source and header the committed .clang-format governs
FORMAT_SRC := $(sort $(shell find classifier feeds tools tests -name '*.[ch]'))

BINS := $(BUILD)/hubao $(if $(SVC_SRC),$(BUILD)/hubaod) $(BUILD)/hubao-bench \
        $(BUILD)/kafka-mock-cluster
BINS_ASAN := $(ASAN)/hubao $(if $(SVC_SRC),$(ASAN)/hubaod)

.PHONY: all deps build run test unit integration models eval bench lint fuzz clean \
        format format-check deb deb-test
.DEFAULT_GOAL := all

all: build

deps:
	@sh tools/install-deps

build: $(BINS)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	$(Q)$(CC) $(CFLAGS_ALL) $(RELEASE) $(IQUOTE) -MMD -MP -c $< -o $@

$(ASAN)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC asan $<"
	$(Q)$(CC) $(CFLAGS_ALL) $(IQUOTE) $(SAN) -O1 -MMD -MP -c $< -o $@

# Archives are written afresh: `ar r` into an old one would keep the object
# of a source file since deleted or renamed.
$(BUILD)/libhubao.a: $(LIB_OBJ)
	@mkdir -p $(dir $@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(ASAN)/libhubao.a: $(LIB_OBJ_ASAN)
	@mkdir -p $(dir $@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/libhubao-feeds.a: $(FEEDS_OBJ)
	@mkdir -p $(dir $@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(ASAN)/libhubao-feeds.a: $(FEEDS_OBJ_ASAN)
	@mkdir -p $(dir $@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/hubao: $(CLI_OBJ) $(BUILD)/libhubao-feeds.a $(BUILD)/libhubao.a
	@echo "  LD      $@"
	$(Q)$(CC) $(CFLAGS_ALL) $(LDFLAGS) -o $@ $^ $(LIBS)

$(ASAN)/hubao: $(CLI_OBJ_ASAN) $(ASAN)/libhubao-feeds.a $(ASAN)/libhubao.a
	@echo "  LD      $@"
	$(Q)$(CC) $(CFLAGS_ALL) $(SAN) -o $@ $^ $(LIBS)

$(BUILD)/hubaod: $(SVC_OBJ) $(BUILD)/libhubao.a
	@echo "  LD      $@"
	$(Q)$(CC) $(CFLAGS_ALL) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/hubao-bench: $(BENCH_OBJ) $(BUILD)/libhubao.a
	@echo "  LD      $@"
	$(Q)$(CC) $(CFLAGS_ALL) $(LDFLAGS) -o $@ $^ $(LIBS)

# librdkafka's built-in mock cluster on loopback, for the Kafka tests, the
# benchmark and trying `hubao kafka` without a cluster (docs/kafka.md)
$(BUILD)/kafka-mock-cluster: $(KAFKA_MOCK_OBJ)
	@echo "  LD      $@"
	$(Q)$(CC) $(CFLAGS_ALL) $(LDFLAGS) -o $@ $^ $(LIBS)

$(ASAN)/hubaod: $(SVC_OBJ_ASAN) $(ASAN)/libhubao.a
	@echo "  LD      $@"
	$(Q)$(CC) $(CFLAGS_ALL) $(SAN) -o $@ $^ $(LIBS)

$(BUILD)/fuzz/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC fuzz $<"
	$(Q)$(FUZZ_CC) $(CFLAGS_ALL) $(IQUOTE) $(FUZZ_SAN) -fsanitize=fuzzer-no-link -O1 -c $< -o $@

$(BUILD)/fuzz/libhubao.a: $(FUZZ_OBJ)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/fuzz/libhubao-feeds.a: $(FUZZ_FEEDS_OBJ)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(BUILD)/fuzz/libhubao-feeds.a $(BUILD)/fuzz/libhubao.a
	@echo "  LD      $@"
	$(Q)$(FUZZ_CC) $(CFLAGS_ALL) $(IQUOTE) $(FUZZ_SAN) -fsanitize=fuzzer -O1 -o $@ $^ $(LIBS)

$(ASAN)/test_%: $(ASAN)/obj/tests/unit/test_%.o $(ASAN)/obj/tests/unit/testutil.o $(ASAN)/libhubao.a
	@echo "  LD      $@"
	$(Q)$(CC) $(CFLAGS_ALL) $(SAN) -o $@ $^ $(LIBS) -lcmocka

$(TEST_BIN_FEEDS): $(ASAN)/test_%: $(ASAN)/obj/tests/unit/test_%.o $(ASAN)/obj/tests/unit/testutil.o $(ASAN)/libhubao-feeds.a $(ASAN)/libhubao.a
	@echo "  LD      $@"
	$(Q)$(CC) $(CFLAGS_ALL) $(SAN) -o $@ $^ $(LIBS) -lcmocka

# build in a second make: the first read pkg-config's answers before
# install-deps had put the packages there
run: deps
	@$(MAKE) --no-print-directory build
	@sh tools/run

test: deps
	@$(MAKE) --no-print-directory format-check
	@$(MAKE) --no-print-directory lint
	@$(MAKE) --no-print-directory build $(BINS_ASAN) $(TEST_BIN) $(FUZZ_BIN)
	@sh tests/run-all $(TEST_BIN)

# every fuzz target for FUZZ_SECONDS on its committed seed corpus
fuzz: deps
	@$(MAKE) --no-print-directory $(FUZZ_BIN)
	@sh tests/fuzz/run $(FUZZ_SECONDS) $(FUZZ_BIN)

# The research tooling is one Python package, tools/research/ (its
# __init__.py lists the modules), run with Debian's python3 (numpy,
# scikit-learn) from the repository root.  make eval: HUBAO_RESPLITS=0
# skips table 4, HUBAO_LODO=0 table 6.
RESEARCH := PYTHONPATH=tools /usr/bin/python3 -m research

models: deps build
	@$(RESEARCH).recipes

eval: deps build
	@$(RESEARCH).report

bench: deps build
	@$(RESEARCH).bench

# The Debian package (tools/debian/, README "Install the Debian package"):
# deb builds build/hubao_VERSION_ARCH.deb from the committed tree and
# fails on any lintian error (tools/deb-build); deb-test installs it in a
# fresh Debian 12 chroot (../shared/tools/fresh-machine, as root) and runs
# tools/debian/tests/installed there (tools/deb-test).  Neither is part of
# make test: each takes minutes.
deb:
	@sh tools/install-deps --deb
	@sh tools/deb-build

deb-test: deb
	@sh tools/deb-test

# clang-format (Debian 12's, version 14: another version may lay the same
# code out differently) in dry-run mode over FORMAT_SRC; fails naming each
# file that differs.  `make format` rewrites them in place.
format-check:
	@command -v clang-format >/dev/null || { echo "format-check: no clang-format; run make deps" >&2; exit 1; }
	@out=$$(clang-format --style=file --dry-run -Werror $(FORMAT_SRC) 2>&1); rc=$$?; \
	if [ $$rc -ne 0 ]; then \
	  files=$$(printf '%s\n' "$$out" | sed -n 's/^\([^: ]*\.[ch]\):[0-9]*:[0-9]*: error: .*/\1/p' | sort -u); \
	  if [ -z "$$files" ]; then printf '%s\n' "$$out" >&2; exit 1; fi; \
	  echo "format-check: these files differ from .clang-format (see the changes with" >&2; \
	  echo "clang-format --dry-run FILE; fix them with make format):" >&2; \
	  printf '  %s\n' $$files >&2; exit 1; \
	fi

format:
	clang-format --style=file -i $(FORMAT_SRC)

# clang-tidy (the committed .clang-tidy: every finding an error) and
# cppcheck over the library, hubaod, feeds/ and the hubao command; prints
# nothing but findings and fails on any.  clang-tidy 14 still says "N
# warnings generated." for the system headers' findings it hides, even
# with --quiet: TIDY drops those lines and keeps its exit status.
TIDY = out=$$(clang-tidy --quiet $(1) 2>&1); rc=$$?; \
       printf '%s' "$$out" | grep -v '^[0-9]* warnings\{0,1\} generated\.$$'; exit $$rc
lint:
	@for t in clang-tidy cppcheck; do command -v $$t >/dev/null || { echo "lint: no $$t; run make deps" >&2; exit 1; }; done
	@echo "  LINT    clang-tidy"
	$(Q)$(call TIDY,$(LIB_SRC) $(SVC_SRC) -- $(CPPFLAGS_ALL) $(LIB_IQUOTE) -std=c11)
	$(Q)$(call TIDY,$(FEEDS_SRC) $(CLI_SRC) $(KAFKA_MOCK_SRC) -- $(CPPFLAGS_ALL) $(APP_IQUOTE) -std=c11)
	@echo "  LINT    cppcheck"
	$(Q)cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability -Iclassifier $(LIB_SRC) $(SVC_SRC)
	$(Q)cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability -Iclassifier -Ifeeds $(FEEDS_SRC) $(CLI_SRC) $(KAFKA_MOCK_SRC)

clean:
	rm -rf $(BUILD)

# the compiler's dependency files; not build/deb's, the package build's own
# copy of the tree (where tmpfiles.d and sysusers.d are directories)
-include $(shell find $(BUILD) -path $(BUILD)/deb -prune -o -name '*.d' -type f -print 2>/dev/null)
.SECONDARY:
