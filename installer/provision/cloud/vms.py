"""The VMs a cloud stack made, as the target the RKE2 provisioning (installer/provision/) works on over SSH.

The stack's `nodes` output gives each VM's name, address and role; SSH access is the openstack target's
`ssh`; each VM's host key is pinned to the fingerprint of the key the installer gave it (hostkeys.py),
so the SSH step checks the key on the very first connection and never accepts one on sight.
"""
from __future__ import annotations

from typing import Any

from installer.answers.models import Node, SdcVmsTarget
from installer.provision.cloud.hostkeys import HostKey, pinned


class VmTargetError(Exception):
    pass


def vm_target(target: Any, nodes: list[Any], keys: dict[str, HostKey]) -> SdcVmsTarget:
    """An sdc-vms target for the VMs in `nodes` (StackNode or dicts), host keys pinned by construction.

    Raises VmTargetError when SSH access is not given, a VM has no key of the installer's making, or the
    answers pin another key for a VM's address (that would be a key the installer did not give)."""
    if target.ssh is None:
        raise VmTargetError("target.ssh is needed to install Kubernetes on the VMs (user and private key)")
    vms = [n if isinstance(n, dict) else n.model_dump() for n in nodes]
    without = [vm["name"] for vm in vms if vm["name"] not in keys]
    if without:
        raise VmTargetError("no installer-made host key for VM(s) " + ", ".join(without) + ": the stack must name "
                            "its VMs as the installer does (<name>-cp-N, <name>-worker-N) and give each the key "
                            "from var.host_keys")
    fingerprints = pinned(keys, {vm["name"]: vm["address"] for vm in vms})
    for address, fingerprint in target.ssh.host_keys.items():
        if address in fingerprints and fingerprints[address] != fingerprint:
            raise VmTargetError(f"target.ssh.host_keys.{address}: pins {fingerprint}, but the VM at that address was "
                                f"given the key {fingerprints[address]} by this installer")
    ssh = target.ssh.model_copy(update={"host_keys": {**target.ssh.host_keys, **fingerprints}})
    return SdcVmsTarget(kind="sdc-vms", nodes=[Node(name=vm["name"], host=vm["address"], role=vm["role"]) for vm in vms],
                        ssh=ssh, rke2=target.rke2)
