#!/usr/bin/env bash
# Installs hubkit's pinned tools into bin/ (make tools, and each make target
# for the one tool it needs). Each tool is built once into a cache shared by
# every clone, one file (or folder) per version, and bin/ links to it, so a
# fresh clone links instead of rebuilding and a changed pin builds only
# itself. It says which tool it builds, how many remain and how long each
# took; a run that builds nothing says it used the cache.
#
#   tools/install.sh STEP...
#     go:NAME=PACKAGE@VERSION   go install PACKAGE@VERSION as bin/NAME
#     module:MODULE@VERSION:CMD[,CMD...][:REQUIRE@VERSION,...]
#                               each CMD (a package directory of MODULE) as bin/<its base
#                               name>, or bin/NAME for CMD=NAME, built in a copy of the
#                               module so that its go.mod's replaces apply (`go install`
#                               refuses a module that has them); a replace by a directory
#                               the module's zip lacks is dropped, so the module's own
#                               required version is used; each REQUIRE@VERSION overrides
#                               the module's requirement (one the proxy refuses)
#     cluster                   the Kubernetes control plane, the real node's kubelet
#                               and kube-proxy, kubectl and etcd (tools/cluster/go.mod)
#     debian                    the real node's Debian packages ($DEBIAN_PACKAGES), when
#                               one of $DEBIAN_COMMANDS is missing (needs root)
#
# Environment: BIN (bin/), TOOLS_CACHE (the cache), K8S_LDFLAGS (cluster).
set -euo pipefail

: "${BIN:?}" "${TOOLS_CACHE:?}"
mkdir -p "$BIN" "$TOOLS_CACHE"
total=$#
i=0
built=0

say() { printf 'tools: [%d/%d] %s\n' "$i" "$total" "$*"; }

# timed NAME CMD...: runs CMD, saying what it builds and how long it took.
timed() {
  local what=$1 start=$SECONDS
  shift
  say "$what: building ($((total - i)) more after it)"
  "$@"
  say "$what: built in $((SECONDS - start)) s"
  built=$((built + 1))
}

go_tool() { # NAME PACKAGE@VERSION
  local name=$1 pkg=${2%@*} version=${2##*@}
  local cached="$TOOLS_CACHE/$name-$version"
  if [ ! -f "$cached" ]; then
    local d
    d=$(mktemp -d)
    timed "$name $version" env GOBIN="$d" go install "$pkg@$version"
    mv "$d"/* "$cached"
    rm -rf "$d"
  fi
  ln -sf "$cached" "$BIN/$name"
  touch -h "$BIN/$name"
}

# name CMD[=NAME]: the name a module step's command is installed as.
name() { case $1 in *=*) echo "${1#*=}" ;; *) echo "${1##*/}" ;; esac; }

module_tool() { # MODULE@VERSION CMD[=NAME][,...] [REQUIRE@VERSION,...]
  local mod=${1%@*} version=${1##*@} cmds c missing=() d src
  IFS=, read -ra cmds <<< "$2"
  for c in "${cmds[@]}"; do
    [ -f "$TOOLS_CACHE/$(name "$c")-$version" ] || missing+=("$c")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    src=$(go mod download -json "$mod@$version" | awk -F'"' '$2 == "Dir" {print $4}')
    [ -n "$src" ] || { echo "tools: go mod download $mod@$version gave no directory" >&2; exit 1; }
    d=$(mktemp -d)
    cp -r "$src" "$d/src"
    chmod -R u+w "$d/src"
    local built_names=()
    for c in "${missing[@]}"; do built_names+=("$(name "$c")"); done
    timed "${built_names[*]} $version ($mod)" build_module "$d" "$version" "${3:-}" "${missing[@]%%=*}"
    for c in "${missing[@]}"; do
      src=${c%%=*}
      src=${src##*/}
      [ "$src" != . ] || src=${mod##*/} # go build names the module's root package after the module
      mv "$d/out/$src" "$TOOLS_CACHE/$(name "$c")-$version"
    done
    rm -rf "$d"
  fi
  for c in "${cmds[@]}"; do
    ln -sf "$TOOLS_CACHE/$(name "$c")-$version" "$BIN/$(name "$c")"
    touch -h "$BIN/$(name "$c")"
  done
}

# build_module DIR VERSION REQUIRES CMD...: builds DIR/src's CMDs into DIR/out,
# stamped with VERSION (the sidecars' main.version), after dropping each replace
# by a directory that is not there and setting each of REQUIRES (PATH@VERSION,...).
build_module() {
  local d=$1 version=$2 requires=$3 path dir r
  shift 3
  (
    cd "$d/src"
    IFS=, read -ra r <<< "$requires"
    for path in "${r[@]}"; do
      echo "tools: requiring $path in place of the module's own version"
      go mod edit -require "$path"
    done
    awk '{sub(/^replace[ \t]+/, "")} $2 == "=>" || $3 == "=>" {for (i = 1; i < NF; i++) if ($i == "=>") print $1, $(i+1)}' go.mod |
      while read -r path dir; do
        case $dir in ./* | ../*) ;; *) continue ;; esac
        [ ! -e "$dir" ] || continue
        echo "tools: $path is replaced by $dir, which the module lacks: using its required version"
        go mod edit -dropreplace "$path"
      done
    GOFLAGS=-mod=mod go build -trimpath -ldflags "-s -w -X main.version=$version" -o "$d/out/" "${@/#/./}"
  )
}

cluster() {
  local mod=tools/cluster/go.mod version sum dir
  version=$(awk '{for (i = 1; i < NF; i++) if ($i == "k8s.io/kubernetes" && $(i+1) ~ /^v/) {print $(i+1); exit}}' "$mod")
  [ -n "$version" ] || { echo "tools: cannot read the k8s.io/kubernetes version from $mod" >&2; exit 1; }
  sum=$(cksum < tools/cluster/go.sum | cut -d' ' -f1)
  dir="$TOOLS_CACHE/cluster-$version-$sum"
  if [ ! -f "$dir/.built" ]; then
    mkdir -p "$dir"
    timed "Kubernetes $version control plane, kubelet, kube-proxy, kubectl and etcd (about 10 min on 2 cores)" \
      bash -c 'cd tools/cluster && go build -ldflags "$0" -o "$1/" \
        k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
        k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubelet k8s.io/kubernetes/cmd/kube-proxy \
        k8s.io/kubernetes/cmd/kubectl ./etcd' "${K8S_LDFLAGS:?}" "$dir"
    touch "$dir/.built"
  fi
  for b in kube-apiserver kube-controller-manager kube-scheduler etcd kubelet kube-proxy kubectl; do
    ln -sf "$dir/$b" "$BIN/$b"
  done
}

debian() {
  local c missing=()
  for c in ${DEBIAN_COMMANDS:?}; do
    command -v "$c" >/dev/null || [ -x "$c" ] || missing+=("$c")
  done
  [ ${#missing[@]} -gt 0 ] || return 0
  [ "$(id -u)" = 0 ] || { echo "tools: ${missing[*]} missing; installing Debian's ${DEBIAN_PACKAGES:?} needs root" >&2; exit 1; }
  timed "Debian packages ${DEBIAN_PACKAGES:?}" bash -c \
    'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $0 >/dev/null' "$DEBIAN_PACKAGES"
}

for step in "$@"; do
  i=$((i + 1))
  case $step in
    go:*=*@*) spec=${step#go:}; go_tool "${spec%%=*}" "${spec#*=}" ;;
    module:*@*:*) IFS=: read -r _ spec cmds requires <<< "$step"; module_tool "$spec" "$cmds" "${requires:-}" ;;
    cluster) cluster ;;
    debian) debian ;;
    *) echo "tools: unknown step $step" >&2; exit 2 ;;
  esac
done
if [ "$built" = 0 ]; then
  echo "tools: $total of $total from the cache ($TOOLS_CACHE)"
fi
