#!/usr/bin/env bash
# The spill queue's measurement (README, "Spill queues"): the cross-thread
# producer/consumer and larson under hakmem with HAKMEM_TINY_BG_SPILL=0
# (the default) and =1, and glibc, interleaved, RUNS runs each.
# usage: bench/spill.sh [BUILD_DIR]
cd "$(dirname "$0")/.."
ONLY="xthread_2_threads larson_2_threads" PEERS=0 VARIANTS="hakmem+spill:HAKMEM_TINY_BG_SPILL=1" \
  exec bench/run.sh "${1:-build}"
