#!/usr/bin/env bash
# Builds a new package whose Package.swift is the README's dependency block,
# exactly as written, against this checkout's committed HEAD, and runs it.
# The README's URL is mapped to a temporary clone with git's insteadOf (for
# this run only, through GIT_CONFIG_* variables), so no network is needed
# and the block is tested whatever host the repository is published on.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# The ```swift block that starts with "// swift-tools-version".
awk '/^```swift/ { inside = 1; block = ""; next }
     /^```/ && inside { inside = 0; if (block ~ /^\/\/ swift-tools-version/) { printf "%s", block; exit } next }
     inside { block = block $0 "\n" }' "$root/README.md" > "$work/Package.swift"
[ -s "$work/Package.swift" ] || { echo "test-consumer: README.md has no package-manifest block" >&2; exit 1; }
url="$(sed -n 's/.*\.package(url: "\([^"]*\)".*/\1/p' "$work/Package.swift")"
name="$(sed -n 's/.*name: "\([^"]*\)".*/\1/p' "$work/Package.swift" | head -1)"
[ -n "$url" ] && [ -n "$name" ] || { echo "test-consumer: no package URL or name in the README's block" >&2; exit 1; }

# A clone whose main branch is this checkout's HEAD (what CI cloned).
git clone --quiet --bare "$root" "$work/autograd.git"
git -C "$work/autograd.git" update-ref refs/heads/main "$(git -C "$root" rev-parse HEAD)"

mkdir -p "$work/Sources/$name"
cp "$root/Consumer/main.swift" "$work/Sources/$name/main.swift"
echo "test-consumer: $url → $work/autograd.git; building $name"
export GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0="url.file://$work/autograd.git.insteadOf" GIT_CONFIG_VALUE_0="$url"
cd "$work"
swift build --disable-dependency-cache 2>&1 | tail -3
output="$(".build/debug/$name")"
echo "$output"
[ "$output" = "y = 14.0, dy/dx = [2.0, 4.0, 6.0]" ] || { echo "test-consumer: unexpected output" >&2; exit 1; }
