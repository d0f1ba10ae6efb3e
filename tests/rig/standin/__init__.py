"""Stand-ins for RKE2 on the rig's bare nodes, written for this project (no Rancher code).

They keep RKE2's air-gap contract so the installer's real commands run unchanged:
- `install.py` behind the artifact folder's `install.sh` (INSTALL_RKE2_ARTIFACT_PATH, INSTALL_RKE2_TYPE,
  sha256 checks against `sha256sum-amd64.txt`, unpacks the tarball under /usr/local, images into
  /var/lib/rancher/rke2/agent/images/, `systemctl daemon-reload`, starts nothing);
- `systemctl.py` behind /usr/local/sbin/systemctl on each node (first on sudo's secure_path): records every
  call and runs the unit's ExecStart as a daemon, waiting for its readiness like Type=notify;
- `rke2.py` behind bin/rke2 in the tarball: the first server (no `server:` in config.yaml) writes the
  0600 node token (K10 form) and rke2.yaml (server https://127.0.0.1:6443), starts the rig's Kubernetes
  emulator on 6443 (TLS, its certificate naming the tls-san entries) and a supervisor on 9345; joining
  nodes present the token there (a wrong one, or different critical settings, is refused) and each join
  adds a Ready Node to the emulator.
Every call is appended to RIGDIR/standins/events.jsonl with one clock (CLOCK_MONOTONIC).
"""
