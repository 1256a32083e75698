#!/bin/sh
# Installs o11y when this workspace has none, then runs it with the arguments given
# (`sh bin/install-o11y doctor`): from PyPI (cruddur-o11y {version}), else the prebuilt binary
# of release {version} into ~/.local/bin, checked against its .sha256. Written by `o11y apply`
# (`o11y undo` takes it out again) for the workspace's start task.
# O11Y_PYPI_INDEX and O11Y_RELEASE_URL point it elsewhere (a mirror, a test server).
set -u
bin="$HOME/.local/bin"
PATH="$bin:$PATH"
user_base="$(python3 -m site --user-base 2>/dev/null)" && PATH="$user_base/bin:$PATH"
export PATH

say() { echo "install-o11y: $*" >&2; }

fetch() {
  if command -v curl >/dev/null 2>&1; then
    curl -fsSL --retry 2 --connect-timeout 15 --max-time 300 -o "$2" "$1"
  else
    wget -q --timeout=15 -O "$2" "$1"
  fi
}

sha256() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum "$1"
  else
    shasum -a 256 "$1"
  fi | cut -d ' ' -f 1
}

from_pypi() {
  index="${O11Y_PYPI_INDEX:-}"
  python3 -m pip install --quiet --user --retries 1 --timeout 15 \
    ${index:+--index-url "$index"} "cruddur-o11y=={version}" >/dev/null 2>&1 || return 1
  command -v o11y >/dev/null 2>&1 && return 0
  say "pip installed cruddur-o11y {version}, but its o11y is in no folder on PATH; trying the release's binary instead"
  return 1
}

from_release() {
  case "$(uname -s)-$(uname -m)" in
    Linux-x86_64) target=x86_64-unknown-linux-gnu ;;
    Linux-aarch64 | Linux-arm64) target=aarch64-unknown-linux-gnu ;;
    Darwin-x86_64) target=x86_64-apple-darwin ;;
    Darwin-arm64) target=aarch64-apple-darwin ;;
    *)
      say "cruddur-o11y {version} is not on PyPI (or pip cannot reach it), and there is no prebuilt binary for $(uname -s) $(uname -m)."
      say "Install it with 'cargo install cruddur-o11y --version {version}', then run 'o11y doctor'."
      return 1
      ;;
  esac
  if ! command -v curl >/dev/null 2>&1 && ! command -v wget >/dev/null 2>&1; then
    say "cruddur-o11y {version} could not be installed from PyPI, and neither curl nor wget is here to fetch the release's binary; install one of them, then start the workspace again."
    return 1
  fi
  if ! command -v sha256sum >/dev/null 2>&1 && ! command -v shasum >/dev/null 2>&1; then
    say "cruddur-o11y {version} could not be installed from PyPI, and neither sha256sum nor shasum is here to check the release's binary; nothing was installed."
    return 1
  fi
  name="o11y-{version}-$target"
  base="${O11Y_RELEASE_URL:-{release_url}}"
  tmp="$(mktemp -d)" || return 1
  if ! fetch "$base/$name.tar.gz" "$tmp/$name.tar.gz" ||
    ! fetch "$base/$name.tar.gz.sha256" "$tmp/$name.tar.gz.sha256"; then
    say "neither PyPI (pip install cruddur-o11y=={version}) nor the release ($base/$name.tar.gz) could be reached."
    say "Check the network, or install o11y by hand (README: Install), then run 'o11y doctor'."
    rm -rf "$tmp"
    return 1
  fi
  want="$(cut -d ' ' -f 1 <"$tmp/$name.tar.gz.sha256" | tr -d '\r' | tr 'A-F' 'a-f')"
  got="$(sha256 "$tmp/$name.tar.gz")"
  if [ -z "$want" ] || [ "$want" != "$got" ]; then
    say "$name.tar.gz does not match its .sha256 (a damaged or altered download); nothing was installed."
    rm -rf "$tmp"
    return 1
  fi
  if ! { tar -xzf "$tmp/$name.tar.gz" -C "$tmp" && mkdir -p "$bin" &&
    cp "$tmp/$name/o11y" "$bin/o11y" && chmod 755 "$bin/o11y"; }; then
    say "could not unpack $name.tar.gz into $bin"
    rm -rf "$tmp"
    return 1
  fi
  rm -rf "$tmp"
  say "installed o11y {version} from $base/$name.tar.gz into $bin (add it to PATH to run o11y yourself: export PATH=\"$bin:\$PATH\")"
}

if ! command -v o11y >/dev/null 2>&1; then
  if from_pypi; then
    say "installed cruddur-o11y {version} from PyPI"
  else
    from_release || exit 1
  fi
fi
if [ $# -gt 0 ]; then
  exec o11y "$@"
fi
