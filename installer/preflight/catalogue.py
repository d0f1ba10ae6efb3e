"""Every preflight check: stable id, source, what a violation costs (fail or warn), what to do about it.

Ids are part of the interface (`--only`, `--skip`, JSON output, the wizard); never rename one.
"""
from __future__ import annotations

from dataclasses import dataclass

SOURCES = ("local", "node", "cluster", "database", "domain")

SUPPORTED_K8S = ((1, 27), (1, 34))  # inclusive minor range the DIGIT 2.9 LTS charts are installed on
SUPPORTED_POSTGRES = (12, 16)  # major versions; newer ones only warn
MIN_MAX_MAP_COUNT = 262144
MIN_KERNEL = (4, 15)
REQUIRED_MODULES = ("overlay", "br_netfilter")
RANCHER_MIN_FREE_GB = 30  # RKE2's images, containerd's layers and etcd under /var/lib/rancher
MEMORY_ALLOWANCE = 0.95  # the kernel keeps some RAM: a 16 GB VM reports about 15.6 GiB
DISK_FREE_SHARE = 0.8  # free space on the data paths: the profile's disk minus what the OS uses
CLOCK_WARN_S, CLOCK_FAIL_S = 1.0, 5.0
CERT_MIN_DAYS = 30
SUPPORTED_OS = {
    "ubuntu": ("20.04", "22.04", "24.04"),
    "debian": ("11", "12"),
    "rhel": ("8", "9"),
    "rocky": ("8", "9"),
    "almalinux": ("8", "9"),
}
# Ports a node must have free before Kubernetes is installed on it (sdc-vms), by role.
REQUIRED_PORTS = {
    "control-plane": (6443, 2379, 2380, 10250, 10257, 10259),
    "worker": (10250, 30080, 30443),
    "database": (5432,),
    "load-balancer": (80, 443, 6443),
}
# What the installer creates; SelfSubjectAccessReview asks for each (verb, group, resource).
REQUIRED_ACCESS = (
    ("create", "", "namespaces"),
    ("create", "", "secrets"),
    ("create", "", "configmaps"),
    ("create", "", "services"),
    ("create", "", "persistentvolumeclaims"),
    ("create", "", "serviceaccounts"),
    ("create", "apps", "deployments"),
    ("create", "apps", "statefulsets"),
    ("create", "batch", "jobs"),
    ("create", "networking.k8s.io", "ingresses"),
    ("create", "rbac.authorization.k8s.io", "roles"),
    ("create", "rbac.authorization.k8s.io", "rolebindings"),
    ("patch", "apps", "deployments"),
    ("delete", "", "pods"),
)


@dataclass(frozen=True)
class Check:
    id: str
    source: str
    title: str
    severity: str  # what a violation yields: "fail" or "warn"
    remediation: str


_CHECKS = [
    Check("local.state_disk", "local", "Free space for the state directory", "fail",
          "Free space on the filesystem of the state directory, or point --state-dir at a larger one."),
    Check("local.secret_files", "local", "Secret files readable only by you", "warn",
          "chmod 600 the file (and keep it in a directory only you can read)."),
    Check("local.private_keys", "local", "Every private key referenced parses as a private key", "fail",
          "Point the key at the private key file (not the .pub), whole and without a passphrase, or export the "
          "variable holding it; ssh-keygen -y -f FILE prints its public key when it is one."),
    Check("release.charts", "local", "Chart source has the release profile's charts", "fail",
          "Point release.charts at the chart tree of this release (DIGIT-DevOps deploy-as-code/charts of the "
          "matching branch), choose the release.version that matches the tree, or leave out the modules whose "
          "charts are missing."),
    Check("node.host_key", "node", "SSH host key trusted", "fail",
          "Compare the fingerprint with `ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub` run on the machine's "
          "console, then pin it under target.ssh.host_keys (or add it to target.ssh.known_hosts)."),
    Check("node.ssh", "node", "SSH reachable and key accepted", "fail",
          "Connection refused or timed out: check that {port} is the port sshd listens on (target.ssh.port, or "
          "the node's own port), that sshd runs and that TCP {port} is allowed from the jump host. Key refused: "
          "put the public half of target.ssh.private_key in ~{user}/.ssh/authorized_keys."),
    Check("node.sudo", "node", "sudo without a password", "fail",
          "Allow passwordless sudo: echo '{user} ALL=(ALL) NOPASSWD:ALL' | sudo tee /etc/sudoers.d/{user}"),
    Check("node.os", "node", "Operating system supported", "warn",
          "Use Ubuntu 20.04/22.04/24.04, Debian 11/12 or RHEL/Rocky/AlmaLinux 8/9."),
    Check("node.kernel", "node", "Kernel recent enough", "fail",
          "Upgrade the kernel to 4.15 or newer (the distribution's current kernel package)."),
    Check("node.cpu", "node", "vCPUs for the node's role", "fail",
          "Give the VM more vCPUs, or choose a smaller sizing profile (sizing.profile)."),
    Check("node.memory", "node", "RAM for the node's role", "fail",
          "Give the VM more RAM, or choose a smaller sizing profile (sizing.profile)."),
    Check("node.disk", "node", "Free disk on the data paths", "fail",
          "Grow the volume behind the data path or point target.nodes[].data_paths at a larger one."),
    Check("node.swap", "node", "Swap off", "fail",
          "Turn swap off: sudo swapoff -a, and remove the swap line from /etc/fstab (kubelet refuses swap)."),
    Check("node.max_map_count", "node", "vm.max_map_count for Elasticsearch", "fail",
          "sudo sysctl -w vm.max_map_count=262144 and persist it: "
          "echo vm.max_map_count=262144 | sudo tee /etc/sysctl.d/99-digit.conf"),
    Check("node.clock", "node", "Clock in step with the jump host", "fail",
          "Enable time synchronisation (chrony or systemd-timesyncd) against the data centre's NTP server."),
    Check("node.kernel_modules", "node", "Kernel modules for Kubernetes networking", "fail",
          "sudo modprobe overlay br_netfilter, and persist them: "
          "printf 'overlay\\nbr_netfilter\\n' | sudo tee /etc/modules-load.d/k8s.conf"),
    Check("node.machine_id", "node", "Unique machine id and product_uuid", "fail",
          "Cloned VMs share ids. On the clone: sudo rm /etc/machine-id && sudo systemd-machine-id-setup "
          "(product_uuid: change the VM's UUID in the hypervisor)."),
    Check("node.ports", "node", "Kubernetes ports free", "fail",
          "Stop whatever listens on the port (sudo ss -ltnp shows it), or use a clean VM."),
    Check("node.dns", "node", "Domain resolves on the node", "fail",
          "Add the domain to the DNS server the node uses (or /etc/hosts) pointing at the load balancer."),
    # Bare VMs (sdc-vms) only: what RKE2 needs of the machines and the network between them.
    Check("node.hostname", "node", "Host names unique", "fail",
          "Give every VM its own host name: sudo hostnamectl set-hostname NAME (RKE2 names nodes after them)."),
    Check("node.default_route", "node", "Default route present", "fail",
          "Add a default route (even to a gateway that goes nowhere in an air gap): RKE2 picks the node's "
          "address from it."),
    Check("node.time_sync", "node", "Time synchronisation on", "fail",
          "Enable chrony or systemd-timesyncd against the data centre's NTP server (etcd and certificates need "
          "agreeing clocks): sudo timedatectl set-ntp true."),
    Check("node.rancher_disk", "node", "Free space for RKE2 under /var/lib/rancher", "fail",
          "Grow the filesystem holding /var/lib/rancher (container images and etcd live there), or mount a "
          "larger disk there before installing."),
    Check("node.network", "node", "Kubernetes ports reachable between nodes", "fail",
          "Open the named port from the first node to the second in the firewall (security group, firewalld, "
          "iptables) between the VMs: RKE2 needs 6443, 9345, 10250, 2379-2381 and the network plugin's ports."),
    Check("k8s.api", "cluster", "Kubernetes API reachable", "fail",
          "Check target.kubeconfig / target.context, that the API server is up, and that the jump host can "
          "reach it (TLS verification follows the kubeconfig)."),
    Check("k8s.version", "cluster", "Kubernetes version supported", "fail",
          "Use a cluster with Kubernetes 1.27 to 1.34."),
    Check("k8s.nodes_ready", "cluster", "Nodes Ready", "fail",
          "kubectl describe node NAME shows why a node is not Ready (kubelet, network plugin, disk pressure)."),
    Check("k8s.capacity", "cluster", "Allocatable CPU and memory for the profile", "fail",
          "Add worker nodes or larger ones, or choose a smaller sizing profile (sizing.profile)."),
    Check("k8s.default_storageclass", "cluster", "StorageClass for DIGIT's volumes", "fail",
          "Mark a StorageClass as default (annotation storageclass.kubernetes.io/is-default-class=true) or name "
          "one in target.storage_class."),
    Check("k8s.permissions", "cluster", "Credentials can create what the install needs", "fail",
          "Use a kubeconfig whose user is bound to cluster-admin (or a role granting the listed verbs)."),
    Check("k8s.existing_install", "cluster", "No foreign DIGIT install in the way", "warn",
          "Another DIGIT install is in this cluster: uninstall it or use another cluster; a rerun of this "
          "installer's own install is fine."),
    Check("db.reachable", "database", "Database reachable", "fail",
          "Check database.host / database.port, that PostgreSQL listens on that address (listen_addresses) and "
          "that the firewall allows the jump host and the cluster nodes."),
    Check("db.auth", "database", "Database login works", "fail",
          "Check database.username and the password it references; the server's pg_hba.conf must allow "
          "password (scram-sha-256) logins from the jump host and the cluster."),
    Check("db.version", "database", "PostgreSQL version supported", "fail",
          "Use PostgreSQL 12 to 16."),
    Check("db.database", "database", "Database exists or can be created", "fail",
          "Create it (CREATE DATABASE name OWNER user), grant the user CREATEDB, or give database.admin_username."),
    Check("domain.resolves", "domain", "Domain resolves from the jump host", "fail",
          "Create the DNS record for domain.fqdn pointing at the load balancer (or the ingress address)."),
    Check("domain.cert_name", "domain", "Certificate matches the domain", "fail",
          "Get a certificate whose subjectAltName covers domain.fqdn (or a matching wildcard)."),
    Check("domain.cert_key", "domain", "Private key matches the certificate", "fail",
          "domain.tls.key must be the private key the certificate was issued for."),
    Check("domain.cert_expiry", "domain", "Certificate valid for 30 more days", "fail",
          "Renew the certificate before installing."),
]

CATALOGUE: dict[str, Check] = {check.id: check for check in _CHECKS}


def select(only: list[str] | None, skip: list[str] | None) -> tuple[set[str], list[str]]:
    """The selected check ids and the unknown names. A name is an id or a prefix: 'node', 'k8s', 'db.'."""
    unknown: list[str] = []

    def expand(names: list[str]) -> set[str]:
        chosen: set[str] = set()
        for raw in names:
            name = raw.strip().rstrip(".*").rstrip(".")
            if not name:
                continue
            matched = {cid for cid in CATALOGUE if cid == name or cid.startswith(name + ".")
                       or CATALOGUE[cid].source == name}
            if not matched:
                unknown.append(raw)
            chosen |= matched
        return chosen

    selected = expand(only) if only else set(CATALOGUE)
    if skip:
        selected -= expand(skip)
    return selected, unknown
