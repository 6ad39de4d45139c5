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
#     module:MODULE@VERSION:CMD[,CMD...]
#                               each CMD (a package directory of MODULE) as bin/<its base
#                               name>, built in a copy of the module so that its go.mod's
#                               replaces apply (`go install` refuses a module that has
#                               them); a replace by a directory the module's zip lacks is
#                               dropped, so the module's own required version is used
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

module_tool() { # MODULE@VERSION CMD[,CMD...]
  local mod=${1%@*} version=${1##*@} cmds c missing=() d src
  IFS=, read -ra cmds <<< "$2"
  for c in "${cmds[@]}"; do
    [ -f "$TOOLS_CACHE/${c##*/}-$version" ] || missing+=("$c")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    src=$(go mod download -json "$mod@$version" | awk -F'"' '$2 == "Dir" {print $4}')
    [ -n "$src" ] || { echo "tools: go mod download $mod@$version gave no directory" >&2; exit 1; }
    d=$(mktemp -d)
    cp -r "$src" "$d/src"
    chmod -R u+w "$d/src"
    timed "${missing[*]##*/} $version ($mod)" build_module "$d" "$version" "${missing[@]}"
    for c in "${missing[@]}"; do
      mv "$d/out/${c##*/}" "$TOOLS_CACHE/${c##*/}-$version"
    done
    rm -rf "$d"
  fi
  for c in "${cmds[@]}"; do
    ln -sf "$TOOLS_CACHE/${c##*/}-$version" "$BIN/${c##*/}"
    touch -h "$BIN/${c##*/}"
  done
}

# build_module DIR VERSION CMD...: builds DIR/src's CMDs into DIR/out, stamped
# with VERSION (the sidecars' main.version), after dropping each replace by a
# directory that is not there.
build_module() {
  local d=$1 version=$2 path dir
  shift 2
  (
    cd "$d/src"
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
    module:*@*:*) spec=${step#module:}; module_tool "${spec%:*}" "${spec##*:}" ;;
    cluster) cluster ;;
    debian) debian ;;
    *) echo "tools: unknown step $step" >&2; exit 2 ;;
  esac
done
if [ "$built" = 0 ]; then
  echo "tools: $total of $total from the cache ($TOOLS_CACHE)"
fi
