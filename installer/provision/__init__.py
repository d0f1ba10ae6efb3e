"""Provisioning bare VMs (target.kind sdc-vms): RKE2 installed air-gapped over SSH, then node storage.

- artifacts.py: the operator's RKE2 artifact folder, checked against its sums on the jump host.
- config.py: each node's /etc/rancher/rke2/config.yaml and registries.yaml (pure functions).
- nodes.py: one node over SSH: what it has (inspect), and the few actions (stage, install, configure, start).
- cluster.py: the Kubernetes side: kubeconfig rewritten to the registration address, Nodes Ready.
- step.py: the `provision` step: the order RKE2's HA guide requires, idempotent and resumable.
- storage.py: the `storage` step: host directories for the plan's static PersistentVolumes.
"""
