#!/usr/bin/env bash
# usage: git_workload.sh DIR
# git doing real work: builds a repository in DIR (made afresh), 6 commits
# of 280 to 430 generated files (changed, added, deleted, a directory
# renamed), then prints its history, diffs, a grep, a blame, the object
# counts after a gc, an fsck and an archive.  Dates, names and configuration
# are fixed (HOME in DIR, no system configuration, C locale, UTC), so that
# the hashes and all the output are the same from one run to the next, under
# glibc and under hakmem.
# A post-commit hook prints the libhakmem lines of its parent's (git commit's)
# /proc/PID/maps to stderr: git waits for its hooks, so the process read is
# alive and has loaded its libraries (tests/run.sh, "real programs").
set -euo pipefail
trap 'echo "git_workload.sh: failed (status $?): $BASH_COMMAND" >&2' ERR
rm -rf "$1"
mkdir -p "$1/home" "$1/repo"
cd "$1/repo"
export HOME=$1/home XDG_CONFIG_HOME=$1/home GIT_CONFIG_NOSYSTEM=1 TZ=UTC LC_ALL=C \
  GIT_AUTHOR_NAME=hakmem GIT_AUTHOR_EMAIL=hakmem@example.org \
  GIT_COMMITTER_NAME=hakmem GIT_COMMITTER_EMAIL=hakmem@example.org
git init -q -b main .
git config gc.auto 0
printf '#!/bin/sh\ngrep libhakmem /proc/$PPID/maps >&2 || true\n' >.git/hooks/post-commit
chmod +x .git/hooks/post-commit
for c in 1 2 3 4 5 6; do
  [ $c -ne 5 ] || git mv d11 moved
  mkdir -p d00 d01 d02 d03 d04 d05 d06 d07 d08 d09 d10 d11
  # file i at commit c: some of its lines depend on how many of the commits
  # 1..c changed it; files (i * 13 + c) % 50 == 0 are deleted by commit c
  awk -v c=$c 'BEGIN { for (i = 0; i < 250 + 30 * c; i++) {
      f = sprintf("d%02d/f%03d.txt", i % 12, i)
      if ((i * 13 + c) % 50 == 0) { print f; continue }
      v = 0; for (k = 1; k <= c; k++) if ((i + k) % 3 == 0) v++
      for (j = 0; j < 5 + i % 40; j++)
        printf "file %d line %d version %d %s\n", i, j, j % 4 == 0 ? v : 0, substr("abcdefghijklmnopqrstuvwxyz", 1 + (i * j) % 26) >f
      close(f) } }' | xargs -r rm -f
  git add -A
  GIT_AUTHOR_DATE="@$((1700000000 + c * 3600)) +0000" GIT_COMMITTER_DATE="@$((1700000000 + c * 3600)) +0000" \
    git commit -q -m "commit $c"
done
git log --stat
git diff HEAD~3
git grep -c 'version 2' HEAD~1
git blame -s d05/f017.txt
git gc --quiet
git count-objects -v | grep -E '^(count|in-pack|packs|garbage):'
git fsck --full --strict --no-progress
git archive --format=tar HEAD | tar t
git archive --format=tar HEAD | sha256sum
git rev-parse HEAD 'HEAD^{tree}'
