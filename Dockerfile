# The racebisect appliance: QEMU, the kernel build tools, linux-source-6.1,
# git, ccache and the installed racebisect in one image.
#
# Build it with scripts/make-image: no registry is needed (the Debian base
# image is made locally with mmdebstrap + podman import). Run it with the
# cache and history on a volume, so a second run builds no kernel:
#   docker run --rm -v racebisect:/var/lib/racebisect racebisect:latest doctor
#   docker run --rm -v racebisect:/var/lib/racebisect racebisect:latest reproduce --boots 1 --trials 4
#   podman run --rm -v racebisect:/var/lib/racebisect racebisect:latest reproduce
# Where /dev/kvm exists add `--device /dev/kvm --group-add $(stat -c %g /dev/kvm)`
# (racebisect still probes it and falls back to TCG, which needs no
# privileges). On hosts with hybrid cgroups use scripts/run-image, which adds
# the podman flags these machines need.
ARG BASE=localhost/racebisect-base:bookworm

# --- build stage: toolchain and -dev packages; builds and installs racebisect
FROM ${BASE} AS build
ARG PREFIX=/usr/local
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      g++ make cmake pkg-config \
      libboost-dev libboost-filesystem-dev nlohmann-json3-dev libgtest-dev libgmock-dev \
      libcli11-dev libspdlog-dev libfmt-dev libsqlite3-dev libtomlplusplus-dev libssl-dev libvirt-dev libxml2-dev \
 && rm -rf /var/lib/apt/lists/*
COPY . /src
RUN cmake -S /src -B /build -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=${PREFIX} \
 && cmake --build /build -j"$(nproc)" --target racebisect uffd_race rb_init \
 && cmake --install /build --strip

# --- runtime stage: what a run uses, and the installed tool ----------------
FROM ${BASE}
ARG PREFIX=/usr/local
# Kernel builds: make gcc flex bison bc perl libelf-dev (objtool) lz4 (the
# bzImage's compression) xz-utils
# (the tarball); sources become git trees; ccache speeds up rebuilds. The
# libraries are the tool's own run-time dependencies (checked below).
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      qemu-system-x86 \
      make gcc libc6-dev flex bison bc perl libelf-dev xz-utils lz4 git ccache linux-source-6.1 \
      libboost-filesystem1.74.0 libsqlite3-0 libssl3 libfmt9 libtomlplusplus3 libvirt0 libxml2 \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build ${PREFIX}/bin/racebisect ${PREFIX}/bin/racebisect
COPY --from=build ${PREFIX}/libexec/racebisect ${PREFIX}/libexec/racebisect
COPY --from=build ${PREFIX}/share/racebisect ${PREFIX}/share/racebisect
COPY --from=build ${PREFIX}/share/doc/racebisect ${PREFIX}/share/doc/racebisect
RUN ! ldd ${PREFIX}/bin/racebisect | grep 'not found' \
 && ${PREFIX}/bin/racebisect --help >/dev/null
# Not root: TCG needs no privileges, and /dev/kvm (when passed) only its
# group. The volume holds the kernel cache, the history database and the
# run bundles (the working directory); it is created owned by the user.
RUN useradd --create-home --uid 1000 --user-group racebisect \
 && install -d -o racebisect -g racebisect /var/lib/racebisect
ENV RACEBISECT_CACHE=/var/lib/racebisect
VOLUME /var/lib/racebisect
USER racebisect
WORKDIR /var/lib/racebisect
ENTRYPOINT ["/usr/local/bin/racebisect"]
CMD ["reproduce"]
