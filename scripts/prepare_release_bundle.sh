#!/usr/bin/env bash
# Build release/dist/<tag>/ with only what production needs, refuse it if anything looks like a
# secret, then write MANIFEST.sha256 (sha256sum -c compatible) and release/dist/<tag>.tar.gz.
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

# Never shipped, wherever it is and even when git tracks it.
excluded() {
  local path="$1" base="${1##*/}"
  case "/$path" in
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

list_files() {
  if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    git ls-files -z --cached --others --exclude-standard -- "${INCLUDE[@]}"
  else
    local item
    for item in "${INCLUDE[@]}"; do
      if [[ -e "$item" ]]; then find "$item" -type f -print0; fi
    done
  fi
}

dist="release/dist"
dest="$dist/$tag"
tarball="$dist/$tag.tar.gz"
rm -rf "$dest" "$tarball"
mkdir -p "$dest"
trap 'echo "release bundle $tag NOT built" >&2; rm -rf "$dest" "$tarball" "$tarball.part"' ERR

copied=0 skipped=0
while IFS= read -r -d '' file; do
  [[ -f "$file" ]] || continue
  if excluded "$file"; then
    echo "skipped (never shipped): $file"
    skipped=$((skipped + 1))
    continue
  fi
  mkdir -p "$dest/$(dirname "$file")"
  cp -p "$file" "$dest/$file"
  copied=$((copied + 1))
done < <(list_files)

for item in "${REQUIRED[@]}"; do
  if [[ ! -e "$dest/$item" ]]; then
    echo "error: $item is missing from the bundle" >&2
    false
  fi
done

if ! "$PYTHON" "$ROOT/scripts/scan_secrets.py" "$dest"; then
  echo "error: the bundle looks like it contains a secret (file and pattern above); remove it and run again" >&2
  false
fi

(cd "$dest" && find . -type f ! -name MANIFEST.sha256 -print0 | LC_ALL=C sort -z | xargs -0 sha256sum \
  | sed 's|  \./|  |' > MANIFEST.sha256)

mtime="${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}"
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$mtime" -C "$dist" -cf - "$tag" \
  | gzip -n -9 > "$tarball.part"
mv "$tarball.part" "$tarball"
trap - ERR

echo "bundle:   $dest/ ($copied files; $skipped left out)"
echo "manifest: $dest/MANIFEST.sha256   (check: cd $dest && sha256sum -c MANIFEST.sha256)"
echo "archive:  $tarball"
