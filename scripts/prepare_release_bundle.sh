#!/usr/bin/env bash
# Build release/dist/<tag>/ with only what production needs, refuse it if anything looks like a
# secret or is a symlink, then write MANIFEST.sha256 (sha256sum -c compatible) and release/dist/<tag>.tar.gz.
# On any refusal nothing is written to release/dist/.
#
#   scripts/prepare_release_bundle.sh v1.2.0
#
# Files come from git (tracked and new files, .gitignore respected) or, outside a git
# checkout, from the folders below. See release/README.md.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
cd "$ROOT"

tag="${1:-}"
if [[ $# -ne 1 || ! "$tag" =~ ^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$ || "$tag" == *..* ]]; then
  echo "usage: $0 <tag>   (letters, digits, '.', '_' and '-'; no '/' or '..'), e.g. $0 v1.2.0" >&2
  exit 2
fi

# What production needs.
INCLUDE=(multisms bot jobs webhooks knowledge migrations scripts docs alembic.ini Procfile requirements.txt app.json
         slack-manifest.yml .python-version gunicorn.conf.py README.md .env.example release/README.md)
REQUIRED=(multisms webhooks jobs migrations alembic.ini Procfile requirements.txt)

# Never shipped, wherever it is and even when git tracks it (a symlink named like a folder here too).
excluded() {
  local path="$1" base="${1##*/}"
  case "/$path/" in
    */data/*|*/X1_data/*|*/.venv/*|*/venv/*|*/__pycache__/*|*/.pytest_cache/*|*/.hypothesis/*|\
    */node_modules/*|*/.git/*|*/tests/*|*/release/dist/*) return 0 ;;
  esac
  case "$base" in
    .env.example) return 1 ;;
    .env|.env.*|*.pyc|*.pyo|*.db|*.db-*|*.sqlite|*.sqlite*|*.pem|*.key|*.p12|*.pfx|id_rsa*|id_ed25519*|*.log)
      return 0 ;;
  esac
  return 1
}

# Symlinks are listed too (git lists a link as one entry; find -P never enters one), so they can be refused.
list_files() {
  if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    git ls-files -z --cached --others --exclude-standard -- "${INCLUDE[@]}"
  else
    local item
    for item in "${INCLUDE[@]}"; do
      if [[ -e "$item" || -L "$item" ]]; then find "$item" \( -type f -o -type l \) -print0; fi
    done
  fi
}

# Sets $link to the path itself or the first folder on the way to it that is a symlink.
symlink_on_path() {
  local rest="$1" prefix=""
  while [[ -n "$rest" ]]; do
    prefix="${prefix:+$prefix/}${rest%%/*}"
    if [[ "$rest" == */* ]]; then rest="${rest#*/}"; else rest=""; fi
    if [[ -L "$prefix" ]]; then link="$prefix"; return 0; fi
  done
  return 1
}

dist="release/dist"
dest="$dist/$tag"
tarball="$dist/$tag.tar.gz"
rm -rf "$dest" "$tarball"

files=() links=() skipped=0
while IFS= read -r -d '' file; do
  [[ -e "$file" || -L "$file" ]] || continue
  if excluded "$file"; then
    echo "skipped (never shipped): $file"
    skipped=$((skipped + 1))
  elif symlink_on_path "$file"; then
    links+=("$link")
  elif [[ -f "$file" ]]; then
    files+=("$file")
  fi
done < <(list_files)

if ((${#links[@]})); then  # a copy would follow the link and ship whatever it points at (.env, a key)
  printf '%s\n' "${links[@]}" | sort -u | while IFS= read -r link; do
    echo "error: $link is a symlink; the bundle never follows links (commit the file itself or remove the link)" >&2
  done
  echo "release bundle $tag NOT built" >&2
  exit 1
fi

# Built and checked in a private folder; release/dist/ gets the bundle and the archive only when both are sound.
stage="$(mktemp -d "${TMPDIR:-/tmp}/multisms-release.XXXXXX")"
build="$stage/$tag"
trap 'rm -rf "$stage"' EXIT
trap 'echo "release bundle $tag NOT built" >&2; rm -rf "$dest" "$tarball" "$tarball.part"' ERR

for file in "${files[@]}"; do
  mkdir -p "$build/$(dirname "$file")"
  cp -P -p -- "$file" "$build/$file"
done

for item in "${REQUIRED[@]}"; do
  if [[ ! -e "$build/$item" ]]; then
    echo "error: $item is missing from the bundle" >&2
    false
  fi
done

if ! "$PYTHON" "$ROOT/scripts/scan_secrets.py" "$build"; then
  echo "error: the bundle failed the secret check (file, line and kind above); remove the secret and run again" >&2
  false
fi

(cd "$build" && find . -type f ! -name MANIFEST.sha256 -print0 | LC_ALL=C sort -z | xargs -0 sha256sum \
  | sed 's|  \./|  |' > MANIFEST.sha256)

mtime="${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}"
mkdir -p "$dist"
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$mtime" -C "$stage" -cf - "$tag" \
  | gzip -n -9 > "$tarball.part"
mv "$build" "$dest"
mv "$tarball.part" "$tarball"
trap - ERR

echo "bundle:   $dest/ (${#files[@]} files; $skipped left out)"
echo "manifest: $dest/MANIFEST.sha256   (check: cd $dest && sha256sum -c MANIFEST.sha256)"
echo "archive:  $tarball"
