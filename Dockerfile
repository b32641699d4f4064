# racebisect appliance (first draft). No registry is reachable on the build
# machines, so the base image is made locally, e.g.:
#   mmdebstrap bookworm - | podman import - debian:12
#   podman build --isolation chroot -t racebisect .
FROM debian:12
COPY . /opt/racebisect
WORKDIR /opt/racebisect
RUN scripts/bootstrap build && build/orchestrator/racebisect --help >/dev/null
ENV RACEBISECT_CACHE=/var/cache/racebisect
ENTRYPOINT ["/opt/racebisect/build/orchestrator/racebisect"]
CMD ["reproduce"]
